package zgres.sync.internal;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.ComponentServiceObjects;
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

import zgres.api.ClusterSnapshot;
import zgres.api.sync.SyncPlugin;
import zgres.api.sync.SyncStatus;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.Coordination;

/**
 * The sync daemon: the runtime's shared cluster cache, an immutable snapshot per change, delivered to every
 * {@link SyncPlugin} service (a dynamic whiteboard: plugin bundles come and go while it runs). Its account of the
 * plugins is the {@link SyncStatus} service ({@code zgres:sync}).
 */
@Component(service = {SyncStatus.class, zgres.api.metrics.MetricSource.class}, immediate = true, configurationPid = SyncDaemon.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = SyncDaemon.Config.class)
public class SyncDaemon implements SyncStatus, zgres.api.metrics.MetricSource {
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
    private final ComponentServiceObjects<ClusterCache> caches;
    private final Consumer<ClusterSnapshot> listener;
    private final Map<SyncPlugin, String> pendingPlugins = new LinkedHashMap<>();
    private final java.util.Set<SyncPlugin> plugins = new java.util.HashSet<>();
    /** the shared cache of every group, held only while some plugin is there to be fed */
    private ClusterCache cache;
    private boolean started;
    private boolean stopped;

    /**
     * The shared cache of every group is taken only while a plugin is registered: a runtime without sync plugins (a
     * database node running only its deadman) watches only its own groups, whatever the size of the fleet.
     */
    @Activate
    public SyncDaemon(Config config, @Reference Coordination zk,
            @Reference ComponentServiceObjects<ClusterCache> caches) {
        this.caches = caches;
        engine = new SyncEngine(config.debounce__ms(), config.resync__interval__s() * 1000L, config.max__backoff__ms());
        listener = engine::offer;
        synchronized (this) {
            started = true;
            pendingPlugins.forEach(this::add);
            pendingPlugins.clear();
        }
        LOG.info("sync daemon watching {}{}", zk.connectString(), zk.paths().root());
    }

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
            add(plugin, name);
        } else {
            pendingPlugins.put(plugin, name);
        }
    }

    private void add(SyncPlugin plugin, String name) {
        if (stopped) {
            return;
        }
        if (cache == null) {
            cache = caches.getService();
            LOG.info("sync daemon: a plugin is there ({}): watching every group", name);
            cache.addListener(listener);
            if (cache.initialized()) {
                engine.offer(cache.snapshot()); // the newest, before the plugin is handed it
            }
        }
        engine.add(plugin, name);
        plugins.add(plugin);
    }

    synchronized void removePlugin(SyncPlugin plugin) {
        pendingPlugins.remove(plugin);
        if (started && plugins.remove(plugin)) {
            engine.remove(plugin);
            if (plugins.isEmpty()) {
                releaseCache();
                LOG.info("sync daemon: no plugin left: no longer watching every group");
            }
        }
    }

    private void releaseCache() {
        if (cache != null) {
            cache.removeListener(listener);
            try {
                caches.ungetService(cache);
            } catch (IllegalStateException e) {
                // the cache's component is already gone
            }
            cache = null;
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
    synchronized void deactivate() {
        stopped = true;
        releaseCache();
        engine.close();
    }

    /** @return true while the daemon holds the cache of every group (some plugin is registered) */
    synchronized boolean watching() {
        return cache != null;
    }

    @Override
    public List<SyncStatus.Plugin> plugins() {
        return engine.status().stream().map(SyncEngine.PluginStatus::toApi).toList();
    }

    @Override
    public void resync() {
        engine.resync();
    }

    /** Per plugin: snapshots applied, failures, when it last applied one, and which. */
    @Override
    public void collect(zgres.api.metrics.MetricWriter out) {
        for (SyncStatus.Plugin p : plugins()) {
            out.counter("zgres_sync_applied_total", "Snapshots a sync plugin applied", p.applied(), "plugin", p.name());
            out.counter("zgres_sync_failures_total", "Failed deliveries to a sync plugin (each retried)",
                    p.failures(), "plugin", p.name());
            out.gauge("zgres_sync_last_success_timestamp_seconds", "When a sync plugin last applied a snapshot "
                    + "(Unix time; 0: never)", p.appliedAt() == null ? 0 : p.appliedAt().toEpochMilli() / 1000.0,
                    "plugin", p.name());
            out.gauge("zgres_sync_applied_sequence", "Sequence of the last snapshot a sync plugin applied (-1: none)",
                    p.appliedSequence(), "plugin", p.name());
        }
    }
}
