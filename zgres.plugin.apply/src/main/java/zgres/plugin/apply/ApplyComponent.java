package zgres.plugin.apply;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import zgres.api.ClusterSnapshot;
import zgres.api.sync.SyncPlugin;

/** The apply sync plugin: one instance per file ({@code zgres.plugin.apply~name}). */
@Component(configurationPid = ApplyComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        property = SyncPlugin.NAME + "=apply")
@Designate(ocd = ApplyComponent.Config.class, factory = true)
public class ApplyComponent implements SyncPlugin {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ApplyComponent.class);
    public static final String PID = "zgres.plugin.apply";

    @ObjectClassDefinition(name = "zgres apply", description = "Healthy and master information as a JSON file, and "
            + "executables to run with its path")
    public @interface Config {
        @AttributeDefinition(description = "The JSON file (written atomically)")
        String path();

        @AttributeDefinition(description = "Executables run in order with the file's path when it changes")
        String[] executables() default {};

        @AttributeDefinition(description = "Longest run of one executable, ms", min = "100")
        int timeout__ms() default 30000;
    }

    private volatile ApplySync sync;
    private volatile ClusterSnapshot last;

    @Activate
    public ApplyComponent(Config c, Map<String, Object> props) {
        sync = create(c, props);
    }

    private static ApplySync create(Config c, Map<String, Object> props) {
        if (c.path() == null || c.path().isBlank()) {
            throw new IllegalArgumentException("zgres.plugin.apply: path is required");
        }
        return new ApplySync(new ApplySync.Settings(String.valueOf(props.getOrDefault("service.pid", PID)),
                Path.of(c.path()), List.of(c.executables()), c.timeout__ms()));
    }

    /** New settings apply live: the current snapshot is applied with them at once. */
    @Modified
    synchronized void modified(Config c, Map<String, Object> props) {
        try {
            sync = create(c, props);
        } catch (IllegalArgumentException e) {
            LOG.error("{}: rejected new configuration, keeping the last good one: {}", props.get("service.pid"),
                    e.getMessage());
            return;
        }
        LOG.info("{}: configuration updated live", props.get("service.pid"));
        if (last != null) {
            try {
                sync.apply(last);
            } catch (Exception e) {
                LOG.error("{}: applying the current snapshot with the new settings failed ({}); the sync daemon "
                        + "retries with the next one", props.get("service.pid"), e.toString());
            }
        }
    }

    @Override
    public synchronized void apply(ClusterSnapshot snapshot) throws Exception {
        last = snapshot;
        sync.apply(snapshot);
    }
}
