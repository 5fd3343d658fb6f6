package zgres.config.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.osgi.service.cm.ConfigurationAdmin;
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

import zgres.api.config.ConfigScope;
import zgres.api.config.ConfigValidator;
import zgres.zookeeper.Coordination;
import zgres.zookeeper.Znodes;

/**
 * Mirrors {@code /config/{scope}/{pid}} from ZooKeeper into Config Admin, in one direction. Each PID (or named
 * factory configuration {@code factory~name}) resolves to the overlay of its {@code all}, group and node-id znodes that
 * concern this runtime (the narrower wins, key by key); the groups and node ids come from the {@link ConfigScope}
 * services of this runtime (its deadmen) and this component's {@code scopes}. What it writes goes through the one
 * precedence rule of {@link ConfigWriter}: a key of the local file always wins. A value the owning bundle's metatype
 * rejects is not applied: the component keeps its last good configuration.
 */
@Component(service = zgres.api.metrics.MetricSource.class, immediate = true, configurationPid = ConfigBridge.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = ConfigBridge.Config.class)
public class ConfigBridge implements zgres.api.metrics.MetricSource {
    public static final String PID = "zgres.config";
    private static final Logger LOG = LoggerFactory.getLogger(ConfigBridge.class);

    @ObjectClassDefinition(name = "zgres configuration bridge", description = "Mirrors /config in ZooKeeper into "
            + "Config Admin")
    public @interface Config {
        @AttributeDefinition(description = "Mirror /config into Config Admin")
        boolean enabled() default true;

        @AttributeDefinition(description = "Scopes (groups or node ids) this runtime also takes configuration from, "
                + "besides all and the scopes its deadmen serve", required = false)
        String[] scopes() default {};

        @AttributeDefinition(description = "Milliseconds to gather changes before applying them", min = "0",
                max = "10000")
        int debounce__ms() default 10;
    }

    private final Coordination zk;
    private final ConfigWriter writer;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Map<String, Map<String, Object>> lastGood = new ConcurrentHashMap<>();
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private volatile Config config;
    private volatile CuratorCache cache;

    /** The scopes served by this runtime's components (deadmen), whiteboard style. */
    private final List<ConfigScope> served = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addScope(ConfigScope s) {
        served.add(s);
        schedule();
    }

    void removeScope(ConfigScope s) {
        served.remove(s);
        schedule();
    }

    @Activate
    public ConfigBridge(Config config, @Reference Coordination zk, @Reference ConfigurationAdmin cm,
            @Reference ConfigValidator validator) {
        this.config = config;
        this.zk = zk;
        this.writer = new ConfigWriter(cm, validator);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "zgres-config-bridge");
            t.setDaemon(true);
            return t;
        });
        if (config.enabled()) {
            start();
        } else {
            LOG.info("config: the bridge is disabled ({} enabled=false): /config is not mirrored", PID);
        }
    }

    private void start() {
        CuratorCache c = CuratorCache.build(zk.client(), zk.paths().configDir());
        c.listenable().addListener(CuratorCacheListener.builder().forAll((type, before, after) -> schedule())
                .forInitialized(this::schedule).build());
        c.start();
        cache = c;
        LOG.info("config: mirroring {} into Config Admin", zk.paths().configDir());
    }

    @Modified
    void modified(Config c) {
        boolean was = config.enabled();
        config = c;
        if (c.enabled() && !was) {
            start();
        } else if (!c.enabled() && was && cache != null) {
            cache.close();
            cache = null;
            LOG.warn("config: the bridge is disabled: configurations it wrote stay as they are");
        }
        schedule();
    }

    @Deactivate
    void deactivate() {
        writer.close();
        if (cache != null) {
            cache.close();
        }
        executor.shutdownNow();
    }

    /**
     * The configuration this runtime runs with: how many changes it applied, and its version as the time of the
     * newest {@code /config} write it has (what to compare across runtimes after a change).
     */
    @Override
    public void collect(zgres.api.metrics.MetricWriter out) {
        out.counter("zgres_config_changes_applied_total", "Configurations created, updated or deleted from /config",
                writer.applied());
        List<ConfigLayers.Entry> entries = entries();
        out.gauge("zgres_config_znodes", "/config znodes this runtime reads", entries.size());
        out.gauge("zgres_config_version_timestamp_seconds", "Time of the newest /config write this runtime has "
                + "(Unix time; 0: none)", entries.stream().mapToLong(ConfigLayers.Entry::mtime).max().orElse(0)
                        / 1000.0);
    }

    /** @return how many times a configuration was created, updated or deleted (tests) */
    public long applied() {
        return writer.applied();
    }

    void schedule() {
        if (cache != null && scheduled.compareAndSet(false, true)) {
            try {
                executor.schedule(() -> {
                    scheduled.set(false);
                    reconcile();
                }, config.debounce__ms(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                scheduled.set(false);
            }
        }
    }

    /** @return the scopes this runtime takes configuration from, in overlay order */
    List<String> scopes() {
        Set<String> s = new LinkedHashSet<>();
        s.add(ConfigLayers.ALL);
        for (String x : config.scopes()) {
            try {
                s.add(ConfigLayers.checkScope(x.trim()));
            } catch (IllegalArgumentException e) {
                report("scope:" + x, "config: ignoring scope '" + x + "' of " + PID + ": " + e.getMessage());
            }
        }
        for (ConfigScope c : served) {
            for (String x : c.scopes()) {
                try {
                    s.add(ConfigLayers.checkScope(x));
                } catch (IllegalArgumentException e) {
                    report("served:" + x, "config: ignoring served scope '" + x + "': " + e.getMessage());
                }
            }
        }
        return ConfigLayers.ordered(s);
    }

    /** Reads the cache: one entry per well-formed znode (a malformed one keeps its last good content). */
    List<ConfigLayers.Entry> entries() {
        List<ConfigLayers.Entry> out = new ArrayList<>();
        CuratorCache c = cache;
        if (c == null) {
            return out;
        }
        String dir = zk.paths().configDir() + "/";
        c.stream().forEach(d -> {
            if (!d.getPath().startsWith(dir)) {
                return;
            }
            String[] parts = d.getPath().substring(dir.length()).split("/");
            if (parts.length != 2) {
                return;
            }
            String scope = parts[0];
            String pid = parts[1];
            try {
                ConfigLayers.checkScope(scope);
                ConfigLayers.checkPid(pid);
            } catch (IllegalArgumentException e) {
                report(d.getPath(), "config: ignoring " + d.getPath() + ": " + e.getMessage());
                return;
            }
            Map<String, Object> props;
            try {
                props = Znodes.decodeConfig(d.getData());
                lastGood.put(d.getPath(), props);
            } catch (IllegalArgumentException e) {
                props = lastGood.get(d.getPath());
                report(d.getPath() + "@" + (d.getStat() == null ? 0 : d.getStat().getMzxid()), "config: "
                        + d.getPath() + " is malformed (" + e.getMessage() + "): "
                        + (props == null ? "ignored" : "keeping its last good content"));
                if (props == null) {
                    return;
                }
            }
            out.add(new ConfigLayers.Entry(scope, pid, props, d.getPath(), d.getStat() == null ? 0
                    : d.getStat().getMtime()));
        });
        return out;
    }

    synchronized void reconcile() {
        if (cache == null) {
            return;
        }
        try {
            writer.fromZooKeeper(ConfigLayers.effective(entries(), scopes()), zk.paths().configDir());
        } catch (IOException | org.osgi.framework.InvalidSyntaxException | RuntimeException e) {
            if (!writer.closed()) {
                LOG.error("config: reconciliation failed: {}", e.toString());
            }
        }
    }

    /** Bad input from a file or a znode is an expected fault: one WARN line per occurrence, nothing changes. */
    private void report(String key, String message) {
        if (reported.add(key)) {
            LOG.warn(message);
        }
    }
}
