package zgres.sync.internal;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.sync.SyncPlugin;
import zgres.sync.SyncEngine;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.Coordination;

/**
 * The sync daemon: one cache over the zgres tree, an immutable snapshot per change, delivered to every
 * {@link SyncPlugin} service (a dynamic whiteboard: plugin bundles come and go while it runs).
 */
@Component(service = SyncDaemon.class, immediate = true, configurationPid = SyncDaemon.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = SyncDaemon.Config.class)
@GogoCommand(scope = "zgres", function = {"sync"})
public class SyncDaemon {
    public static final String PID = "zgres.sync";
    private static final Logger LOG = LoggerFactory.getLogger(SyncDaemon.class);

    @ObjectClassDefinition(name = "zgres sync", description = "Delivery of cluster snapshots to sync plugins")
    public @interface Config {
        @AttributeDefinition(description = "Changes within this many ms are delivered as one snapshot", min = "0")
        int debounce__ms() default 20;

        @AttributeDefinition(description = "Every plugin gets the current snapshot again this often, s (0: never)",
                min = "0")
        int resync__interval__s() default 300;

        @AttributeDefinition(description = "Longest wait between retries of a failing plugin, ms", min = "100")
        int max__backoff__ms() default 10000;
    }

    private final SyncEngine engine;
    private final ClusterReader reader;

    @Activate
    public SyncDaemon(Config config, @Reference Coordination zk) {
        engine = new SyncEngine(config.debounce__ms(), config.resync__interval__s() * 1000L, config.max__backoff__ms());
        reader = new ClusterReader(zk.client(), zk.paths(), "sync");
        reader.addListener(engine::offer);
        reader.start();
        synchronized (this) {
            pendingPlugins.forEach((p, n) -> engine.add(p, n));
            pendingPlugins.clear();
            started = true;
        }
        LOG.info("sync daemon watching {}{}", zk.connectString(), zk.paths().root());
    }

    private final Map<SyncPlugin, String> pendingPlugins = new java.util.LinkedHashMap<>();
    private boolean started;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void addPlugin(SyncPlugin plugin, Map<String, Object> props) {
        String name = String.valueOf(props.getOrDefault(SyncPlugin.NAME, props.getOrDefault("component.name",
                props.get(Constants.SERVICE_ID))));
        Object pid = props.get(Constants.SERVICE_PID);
        if (pid != null && pid.toString().contains("~")) {
            name = name + "~" + pid.toString().substring(pid.toString().indexOf('~') + 1);
        }
        if (started) {
            engine.add(plugin, name);
        } else {
            pendingPlugins.put(plugin, name);
        }
    }

    synchronized void removePlugin(SyncPlugin plugin) {
        pendingPlugins.remove(plugin);
        if (started) {
            engine.remove(plugin);
        }
    }

    /** New timings apply live: the cache, the plugins and their state are kept. */
    @Modified
    void modified(Config config) {
        engine.reconfigure(config.debounce__ms(), config.resync__interval__s() * 1000L, config.max__backoff__ms());
        LOG.info("sync daemon reconfigured live: debounce {} ms, resync {} s, max backoff {} ms", config.debounce__ms(),
                config.resync__interval__s(), config.max__backoff__ms());
    }

    @Deactivate
    void deactivate() {
        reader.close();
        engine.close();
    }

    public List<SyncEngine.PluginStatus> status() {
        return engine.status();
    }

    @Descriptor("Show the sync plugins of this runtime and the last snapshot each applied")
    public CharSequence sync() {
        List<SyncEngine.PluginStatus> s = engine.status();
        if (s.isEmpty()) {
            return "no sync plugins";
        }
        return s.stream().map(p -> String.format("%-32s snapshot #%d at %s, %d applied, %d failures%s", p.name(),
                p.appliedSequence(), p.appliedAt(), p.applied(), p.failures(),
                p.lastError().isEmpty() ? "" : " (last: " + p.lastError() + ")")).collect(Collectors.joining("\n"));
    }
}
