package zgres.zookeeper.internal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.zookeeper.Coordination;

/**
 * Mirrors {@code /config/{scope}/{pid}} from ZooKeeper into Config Admin, in one direction. Each PID (or named
 * factory configuration {@code factory~name}) resolves to the overlay of its {@code all}, group and node-id znodes
 * that concern this runtime (the narrower wins, key by key). Configurations the bridge writes carry
 * {@value #SOURCE}={@value #ZOOKEEPER}; it updates them with {@code updateIfDifferent}, deletes them when their
 * znodes disappear, and never touches a configuration it did not create (local files keep working and win). A value
 * that the owning bundle's metatype rejects is not applied: the component keeps its last good configuration.
 */
@Component(immediate = true, configurationPid = ConfigBridge.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL,
        service = {ConfigBridge.class, ConfigurationListener.class})
@Designate(ocd = ConfigBridge.Config.class)
public class ConfigBridge implements ConfigurationListener {
    public static final String PID = "zgres.config";
    public static final String SOURCE = "zgres.config.source";
    public static final String ZOOKEEPER = "zookeeper";
    public static final String ZNODES = "zgres.config.znodes";
    private static final Logger LOG = LoggerFactory.getLogger(ConfigBridge.class);

    @org.osgi.service.metatype.annotations.ObjectClassDefinition(name = "zgres configuration bridge",
            description = "Mirrors /config in ZooKeeper into Config Admin")
    public @interface Config {
        @AttributeDefinition(description = "Mirror /config into Config Admin")
        boolean enabled() default true;

        @AttributeDefinition(description = "Scopes (groups or node ids) this runtime also takes configuration from, "
                + "besides all and the groups and node ids of its local deadmen", required = false)
        String[] scopes() default {};

        @AttributeDefinition(description = "Milliseconds to gather changes before applying them", min = "0",
                max = "10000")
        int debounce__ms() default 10;
    }

    private final Coordination zk;
    private final ConfigurationAdmin cm;
    private final BundleContext context;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Map<String, Map<String, Object>> lastGood = new ConcurrentHashMap<>();
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private final AtomicLong applied = new AtomicLong();
    private volatile Config config;
    private volatile CuratorCache cache;
    private volatile boolean closed;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MetaTypeService metatype;

    @Activate
    public ConfigBridge(Config config, BundleContext context, @Reference Coordination zk,
            @Reference ConfigurationAdmin cm) {
        this.config = config;
        this.context = context;
        this.zk = zk;
        this.cm = cm;
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
        closed = true;
        if (cache != null) {
            cache.close();
        }
        executor.shutdownNow();
    }

    /** A local deadman configuration appeared or changed: this runtime's scopes may have changed. */
    @Override
    public void configurationEvent(ConfigurationEvent event) {
        if ("zgres.deadman".equals(event.getFactoryPid()) || PID.equals(event.getPid())) {
            schedule();
        }
    }

    /** @return how many times a configuration was created, updated or deleted (tests) */
    public long applied() {
        return applied.get();
    }

    void schedule() {
        if (cache != null && scheduled.compareAndSet(false, true)) {
            try {
                executor.schedule(() -> {
                    scheduled.set(false);
                    reconcile();
                }, config.debounce__ms(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
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
        try {
            Configuration[] local = cm.listConfigurations("(service.factoryPid=zgres.deadman)");
            if (local != null) {
                for (Configuration c : local) {
                    Dictionary<String, Object> p = c.getProperties();
                    if (p == null || ZOOKEEPER.equals(p.get(SOURCE)) || p.get("group") == null) {
                        continue;
                    }
                    String group = String.valueOf(p.get("group"));
                    s.add(group);
                    Object host = p.get("host");
                    Object port = p.get("port");
                    if (port != null) {
                        s.add(group + "_" + (host == null ? "127.0.0.1" : host) + ":" + port);
                    }
                }
            }
        } catch (IOException | InvalidSyntaxException e) {
            LOG.warn("config: cannot list local deadman configurations: {}", e.toString());
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
                props = ConfigJson.parse(d.getData());
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
            List<String> scopes = scopes();
            Map<String, ConfigLayers.Effective> wanted = ConfigLayers.effective(entries(), scopes);
            Map<String, Configuration> owned = new HashMap<>();
            Configuration[] mine = cm.listConfigurations("(" + SOURCE + "=" + ZOOKEEPER + ")");
            if (mine != null) {
                for (Configuration c : mine) {
                    owned.put(c.getPid(), c);
                }
            }
            for (ConfigLayers.Effective e : wanted.values()) {
                try {
                    apply(e, owned.get(e.pid()));
                } catch (IOException | RuntimeException ex) {
                    if (!closed) { // (Config Admin goes away while the runtime stops)
                        LOG.error("config: could not apply {} from {}: {}", e.pid(), e.sources(), ex.toString());
                    }
                }
            }
            for (Map.Entry<String, Configuration> o : owned.entrySet()) {
                if (!wanted.containsKey(o.getKey())) {
                    try {
                        o.getValue().delete();
                        applied.incrementAndGet();
                        LOG.warn("config: deleted {}: no znode under {} concerns this runtime any more", o.getKey(),
                                zk.paths().configDir());
                    } catch (IOException | IllegalStateException ex) {
                        LOG.error("config: could not delete {}: {}", o.getKey(), ex.toString());
                    }
                }
            }
        } catch (IOException | InvalidSyntaxException | RuntimeException e) {
            if (!closed) {
                LOG.error("config: reconciliation failed: {}", e.toString());
            }
        }
    }

    private void apply(ConfigLayers.Effective e, Configuration current) throws IOException, InvalidSyntaxException {
        String pid = e.pid();
        if (current == null) {
            Configuration[] existing = cm.listConfigurations("(service.pid=" + pid.replace("\\", "\\\\")
                    .replace("(", "\\(").replace(")", "\\)").replace("*", "\\*") + ")");
            if (existing != null && existing.length > 0) {
                report("local:" + pid, "config: " + pid + " has a local configuration on this runtime: it wins, "
                        + e.sources() + " is not applied here");
                return;
            }
        }
        Optional<ObjectClassDefinition> ocd = MetatypeCheck.find(context, metatype, pid);
        if (ocd.isPresent()) {
            List<String> errors = MetatypeCheck.validate(ocd.get(), pid, e.props(), true);
            if (!errors.isEmpty()) {
                report("invalid:" + pid + e.props(), "config: rejected " + String.join("; ", errors) + " (from "
                        + e.sources() + "); " + (current == null ? "not creating it" : "the component keeps its last "
                                + "good configuration"));
                return;
            }
        }
        Dictionary<String, Object> d = new Hashtable<>(e.props());
        d.put(SOURCE, ZOOKEEPER);
        d.put(ZNODES, e.sources().toArray(String[]::new));
        Configuration c = current;
        if (c == null) {
            int t = pid.indexOf('~');
            c = t < 0 ? cm.getConfiguration(pid, "?") : cm.getFactoryConfiguration(pid.substring(0, t),
                    pid.substring(t + 1), "?");
        }
        if (c.updateIfDifferent(d)) {
            applied.incrementAndGet();
            long delay = e.newestMtime() > 0 ? System.currentTimeMillis() - e.newestMtime() : -1;
            LOG.info("config: {} {} from {} ({} ms after the znode changed){}", current == null ? "created" : "updated",
                    pid, e.sources(), delay, ocd.isPresent() ? "" : " (no bundle here describes it: stored, unused "
                            + "until one does)");
        }
    }

    private void report(String key, String message) {
        if (reported.add(key)) {
            LOG.error(message);
        }
    }
}
