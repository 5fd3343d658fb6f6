package zgres.runtime.internal;

import java.util.Collections;
import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies warnings and errors that other bundles write to the OSGi log (Configurator, Config Admin, SCR) to the
 * console log, including those logged before this component started, so that nothing fails silently.
 */
@Component(immediate = true)
public class LogBridge implements LogListener {
    private static final Logger LOG = LoggerFactory.getLogger("osgi");
    private final LogReaderService reader;

    @Activate
    public LogBridge(@Reference LogReaderService reader) {
        this.reader = reader;
        List<LogEntry> history = Collections.list(reader.getLog());
        Collections.reverse(history); // oldest first
        history.forEach(this::logged);
        reader.addLogListener(this);
    }

    @Deactivate
    void deactivate() {
        reader.removeLogListener(this);
    }

    @Override
    public void logged(LogEntry e) {
        LogLevel level = e.getLogLevel();
        if (level != LogLevel.ERROR && level != LogLevel.WARN && level != LogLevel.AUDIT) {
            return;
        }
        String bundle = e.getBundle() == null ? "?" : e.getBundle().getSymbolicName();
        if (level == LogLevel.ERROR) {
            LOG.error("[{}] {}", bundle, e.getMessage(), e.getException());
        } else {
            LOG.warn("[{}] {}", bundle, e.getMessage(), e.getException());
        }
    }
}
