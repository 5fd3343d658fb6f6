package zgres.shell.internal;

import org.apache.felix.service.command.Converter;
import org.osgi.service.component.annotations.Component;

/**
 * Formats the objects the zgres commands return ({@link ClusterListing}, {@link HistoryListing}) for the console and
 * for scripts: the table at every level, the same text {@code ./zgres ctl} prints.
 */
@Component(service = Converter.class)
public class ListingConverter implements Converter {
    @Override
    public Object convert(Class<?> desiredType, Object in) {
        return null; // nothing is converted into these types
    }

    @Override
    public CharSequence format(Object target, int level, Converter escape) {
        if (target instanceof ClusterListing || target instanceof HistoryListing) {
            return target.toString();
        }
        return null;
    }
}
