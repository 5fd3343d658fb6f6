package zgres.deadman;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
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
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.config.ConfigScope;
import zgres.api.config.ConfigValidator;
import zgres.api.deadman.HealthVeto;
import zgres.api.deadman.MetadataProvider;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgTools;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.Coordination;

/**
 * A deadman per local PostgreSQL cluster: one instance per factory configuration {@code zgres.deadman~<name>}.
 * Property names use {@code _}: OSGi maps a method {@code a__b()} to the property {@code a_b}. It serves its group
 * and its node id as configuration scopes ({@link ConfigScope}: the bridge mirrors what {@code /config} says for
 * them). A change of its configuration, or of the group-wide {@link ClusterSettings}, goes to {@link #configure}:
 * taken live, the lock and the session kept.
 */
@Component(immediate = true, service = {DeadmanComponent.class, ConfigScope.class},
        configurationPid = DeadmanComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = DeadmanComponent.Config.class, factory = true)
public class DeadmanComponent implements ConfigScope {
    public static final String PID = "zgres.deadman";
    /** framework property that lets a deadman run in a root JVM (tests, or an operator who insists) */
    public static final String ALLOW_ROOT = "zgres.allow.root";
    private static final Logger LOG = LoggerFactory.getLogger(DeadmanComponent.class);

    @ObjectClassDefinition(name = "zgres deadman", description = "One PostgreSQL cluster managed by zgres")
    public @interface Config {
        @AttributeDefinition(description = "Database group ([A-Za-z0-9][A-Za-z0-9.-]*)")
        String group();

        @AttributeDefinition(description = "Address other nodes and clients reach this PostgreSQL at")
        String host() default "127.0.0.1";

        @AttributeDefinition(description = "PostgreSQL port", min = "1", max = "65535")
        int port();

        @AttributeDefinition(description = "PostgreSQL data directory (absolute)")
        String data__dir();

        @AttributeDefinition(description = "Directory of the PostgreSQL 15 binaries")
        String pg__bin() default "/usr/lib/postgresql/15/bin";

        @AttributeDefinition(description = "OS user that runs PostgreSQL (default: postgres when root, else the "
                + "current user)")
        String pg__user() default "";

        @AttributeDefinition(description = "Database published in /conn")
        String dbname() default "postgres";

        @AttributeDefinition(description = "Superuser the deadman connects as (also used by pg_rewind)")
        String superuser() default "postgres";

        @AttributeDefinition(description = "Superuser password (local file only, never ZooKeeper)",
                type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
        String superuser__password() default "";

        @AttributeDefinition(description = "Replication user")
        String replication__user() default "replicator";

        @AttributeDefinition(description = "Replication password (kept in a passfile)",
                type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
        String replication__password() default "";

        @AttributeDefinition(description = "PostgreSQL log file (default: <data_dir>.log)")
        String log__file() default "";

        @AttributeDefinition(description = "Never promote this node automatically")
        boolean nofailover() default false;

        @AttributeDefinition(description = "Higher wins among equally advanced candidates")
        int priority() default 0;

        @AttributeDefinition(description = "ZooKeeper session timeout, ms: the lease and failover time rest on it",
                min = "200", max = "600000")
        int session__timeout__ms() default 6000;

        @AttributeDefinition(description = "Loop interval, ms (the loop also wakes on every relevant change)",
                min = "10", max = "60000")
        int loop__wait__ms() default 1000;

        @AttributeDefinition(description = "Minimum interval between /state writes that only move LSNs, ms",
                min = "10")
        int state__interval__ms() default 2000;

        @AttributeDefinition(description = "Safety margin subtracted from the lease, ms (0: max(100, T/10))",
                min = "0")
        int lease__margin__ms() default 0;

        @AttributeDefinition(description = "Replicas further behind the master's last position are not promoted, "
                + "bytes", min = "0")
        long maximum__lag__on__failover() default 1048576;

        @AttributeDefinition(description = "How long the lock must be free before the best candidate takes it, ms",
                min = "0")
        int election__delay__ms() default 150;

        @AttributeDefinition(description = "When the best candidate has not taken the lock after this, the next "
                + "may, ms", min = "1")
        int election__timeout__ms() default 3000;

        @AttributeDefinition(description = "A master whose PostgreSQL stays down longer gives up the lock, ms",
                min = "0")
        int crash__restart__timeout__ms() default 20000;

        @AttributeDefinition(description = "A standby on an older timeline not streaming for this long is rewound, "
                + "ms", min = "0")
        int follow__timeout__ms() default 10000;

        @AttributeDefinition(description = "Entries kept in /history/{group}: the master prunes the oldest beyond "
                + "this after each promotion", min = "1")
        int history__limit() default 1000;

        @AttributeDefinition(description = "Address the read-only HTTP health checks listen on (/master, /replica, "
                + "/health, /liveness, /readiness, /status)")
        String http__address() default "127.0.0.1";

        @AttributeDefinition(description = "Port of the HTTP health checks (0: none)", min = "0", max = "65535")
        int http__port() default 0;

        @AttributeDefinition(description = "Synchronous replication: off, on (writes continue alone when no "
                + "standby is left, and then nobody is promotable) or strict (writes wait)", options = {
                        @Option(value = "off"), @Option(value = "on"), @Option(value = "strict")})
        String synchronous__mode() default "off";

        @AttributeDefinition(description = "Synchronous standbys the master keeps", min = "1")
        int synchronous__node__count() default 1;

        @AttributeDefinition(description = "When pg_rewind fails: reclone (pg_basebackup again) or stop", options = {
                @Option(value = "reclone"), @Option(value = "stop")})
        String rewind__failure() default "reclone";

        @AttributeDefinition(description = "Ride out a ZooKeeper outage: a master without a lease stays writable while "
                + "every promotable replica streams from it, and a replica never takes the lock while it hears from "
                + "its master (set it for the whole group; a replica then takes the lock no sooner than 4.5 s after "
                + "its walreceiver went)")
        boolean failsafe() default true;

        @AttributeDefinition(description = "Replicas stream through a physical replication slot the master keeps for "
                + "each member")
        boolean replication__slots() default true;

        @AttributeDefinition(description = "The slot of a member gone from /state (and not streaming) is dropped "
                + "after this, s", min = "0")
        int slot__drop__after__s() default 1800;

        @AttributeDefinition(description = "The most WAL the master's slots may hold back (max_slot_wal_keep_size): "
                + "a slot past it is invalidated and its member catches up from the archive or is cloned, MB",
                min = "16")
        long max__slot__wal__keep__size__mb() default 4096;

        @AttributeDefinition(description = "Clone methods tried in order to build a replica (installed CloneMethod "
                + "plugins: basebackup, pgbackrest, command)")
        String[] clone__methods() default {"basebackup"};

        @AttributeDefinition(description = "The WAL archive PostgreSQL archives to and restores from (an installed "
                + "WalArchive plugin: pgbackrest), or empty for none (local file only: it makes PostgreSQL run a "
                + "program)")
        String wal__archive() default "";

        @AttributeDefinition(description = "postgresql.conf settings (name = value) written at initdb")
        String[] pg__parameters() default {};

        @AttributeDefinition(description = "Extra pg_hba.conf lines written at initdb")
        String[] pg__hba() default {};
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<HealthVeto> vetoes = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<MetadataProvider> metadata = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<zgres.api.clone.CloneMethod> cloneMethods = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<zgres.api.clone.WalArchive> archives = new CopyOnWriteArrayList<>();

    @Reference
    Coordination zk;

    @Reference
    ConfigValidator validator;

    private volatile Map<String, Object> local = Map.of();
    private volatile Map<String, Object> cluster = Map.of();
    private volatile Deadman deadman;
    /** the deadman's view of the tree: its own group only */
    private volatile ClusterReader reader;
    private volatile org.osgi.framework.ServiceRegistration<zgres.api.metrics.MetricSource> metricsRegistration;
    /** the HTTP health checks, and where they listen */
    private volatile zgres.deadman.http.HealthServer http;
    private volatile String httpAt = "";
    private volatile Set<String> scopes = Set.of();
    private volatile String lastRejected = "";
    private volatile boolean active;
    private BundleContext context;

    /** Group-wide settings (usually from ZooKeeper through the configuration bridge), live. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, updated = "clusterUpdated", unbind = "clusterUnbound")
    void clusterBound(ClusterSettings c) {
        cluster = c.values();
        configure("cluster settings " + cluster);
    }

    void clusterUpdated(ClusterSettings c) {
        cluster = c.values();
        configure("cluster settings " + cluster);
    }

    void clusterUnbound(ClusterSettings c) {
        cluster = Map.of();
        configure("cluster settings removed: local values apply");
    }

    @Activate
    void activate(Map<String, Object> props, BundleContext context) {
        this.context = context;
        local = Map.copyOf(props);
        active = true;
        configure("activation");
    }

    @Modified
    void modified(Map<String, Object> props) {
        local = Map.copyOf(props);
        configure("local configuration");
    }

    /**
     * The one place a configuration takes effect: the first one starts the deadman, later ones are taken live. A
     * value that is invalid (the metatype's rules, then the settings' own) is rejected with the key and the reason,
     * and the running deadman keeps its last good settings.
     */
    synchronized void configure(String what) {
        if (!active) {
            return; // activate() takes the configuration in effect by then
        }
        DeadmanSettings s;
        try {
            Map<String, Object> m = merged();
            List<String> errors = validator == null ? List.of() : validator.validate(PID + "~deadman", m, true);
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException(String.join("; ", errors));
            }
            s = DeadmanSettings.from(config(m));
        } catch (IllegalArgumentException | org.osgi.util.converter.ConversionException e) {
            String msg = e.getMessage();
            if (!msg.equals(lastRejected)) {
                lastRejected = msg;
                LOG.error("[{}] rejected the configuration ({}): {}{}", deadman == null ? local.get("group")
                        : deadman.id(), what, msg, deadman == null ? "; the deadman does not start"
                                : "; the deadman keeps its last good configuration");
            }
            if (deadman == null) {
                throw e;
            }
            return;
        }
        lastRejected = "";
        try {
            Config c = config(merged());
            http(c.http__address(), c.http__port(), s.id().toString());
        } catch (IllegalArgumentException e) {
            LOG.error("[{}] HTTP health checks: {}", s.id(), e.getMessage());
        }
        Deadman d = deadman;
        if (d == null) {
            BundleContext bc = context;
            if (PgTools.isRoot() && !Boolean.parseBoolean(bc.getProperty(ALLOW_ROOT))) {
                String msg = "the deadman does not run as root: run the runtime as the PostgreSQL user (systemd "
                        + "User=postgres); a root JVM running PostgreSQL's tools, supervisor and plugins is one bug "
                        + "away from giving the machine away (-D" + ALLOW_ROOT + "=true overrides this)";
                LOG.error("[{}] {}", s.id(), msg);
                throw new IllegalStateException(msg);
            }
            PgNode pg;
            try {
                pg = new PgNode(s.pgSpec(), new PgTools(s.pgBin(), s.pgUser()));
            } catch (java.io.IOException e) {
                throw new IllegalStateException("[" + s.id() + "] cannot prepare " + s.dataDir() + ": " + e.getMessage(),
                        e);
            }
            ClusterReader r = new ClusterReader(zk.client(), zk.paths(), s.id().toString(), Set.of(s.id().group()));
            r.start();
            reader = r;
            d = new Deadman(s, zk.newClient("deadman-" + s.id().port(), s.sessionTimeoutMs()), zk.paths(), r, pg,
                    new Extensions(() -> bundles(bc), () -> vetoes, () -> metadata, () -> cloneMethods,
                            () -> archives));
            scopes = Set.of(s.id().group(), s.id().toString());
            // the first question starts the runtime's tick probe (in the background, milliseconds); the lock waits
            // for its answer (LeaseKeeper), nothing else does
            zk.tickTimeMs();
            d.tickSource(zk::tickTimeMs);
            d.start();
            deadman = d;
            zgres.api.metrics.MetricSource nodeMetrics = d.metrics();
            metricsRegistration = context.registerService(zgres.api.metrics.MetricSource.class, out -> {
                nodeMetrics.collect(out);
                r.collect(out);
            },
                    new java.util.Hashtable<>(Map.of("zgres.node", s.id().toString())));
            LOCAL.put(s.id(), d);
            if (!cluster.isEmpty()) {
                LOG.info("[{}] cluster settings in effect: {}", d.id(), cluster);
            }
            return;
        }
        try {
            List<String> later = d.update(s);
            LOG.info("[{}] configuration updated live ({}){}", d.id(), what, later.isEmpty() ? ""
                    : "; takes effect at the next start: " + String.join(", ", later));
        } catch (IllegalArgumentException e) {
            LOG.error("[{}] rejected new configuration ({}), keeping the last good one: {}", d.id(), what,
                    e.getMessage());
        }
    }

    /**
     * @return the cluster settings with the local configuration laid over them: a key of the local configuration
     *         wins (the one precedence rule: local, then ZooKeeper, then the default)
     */
    Map<String, Object> merged() {
        Map<String, Object> m = new java.util.HashMap<>();
        cluster.forEach((k, v) -> {
            if (ClusterSettings.KEYS.contains(k)) {
                m.put(k, v);
            }
        });
        m.putAll(local);
        return m;
    }

    /** The group and the node id this deadman serves, for the configuration bridge. */
    @Override
    public Set<String> scopes() {
        return scopes;
    }

    /**
     * @return the properties as the configuration type, every value converted now
     * @throws IllegalArgumentException naming the key, the value and the expected type when a value does not convert
     */
    static Config config(Map<String, Object> props) {
        Config c = org.osgi.util.converter.Converters.standardConverter().convert(props).to(Config.class);
        for (java.lang.reflect.Method m : Config.class.getDeclaredMethods()) {
            try {
                m.invoke(c);
            } catch (java.lang.reflect.InvocationTargetException | IllegalAccessException e) {
                String key = m.getName().replace("__", "\u0000").replace('_', '.').replace('\u0000', '_');
                Object v = props.get(key);
                throw new IllegalArgumentException(key + ": '" + (v instanceof Object[] a ? java.util.Arrays.toString(a)
                        : v) + "' is not a valid " + m.getReturnType().getSimpleName());
            }
        }
        return c;
    }

    /** Starts, moves or stops the health checks to match the configuration (taken live). */
    private void http(String address, int port, String name) {
        String at = port == 0 ? "" : address + ":" + port;
        if (at.equals(httpAt)) {
            return;
        }
        zgres.deadman.http.HealthServer old = http;
        if (old != null) {
            old.close();
            http = null;
        }
        httpAt = at;
        if (port != 0) {
            try {
                http = new zgres.deadman.http.HealthServer(name, address, port, () -> {
                    Deadman d = deadman;
                    return d == null ? new zgres.deadman.http.HealthServer.Health(java.util.Optional.empty(), false,
                            Long.MAX_VALUE, 0) : d.health();
                });
            } catch (java.io.IOException | RuntimeException e) {
                LOG.error("[{}] cannot serve the HTTP health checks on {}: {}", name, at, e.toString());
                httpAt = "";
            }
        }
    }

    /** the nodes whose deadmen run in this runtime */
    private static final Map<zgres.api.NodeId, Deadman> LOCAL = new java.util.concurrent.ConcurrentHashMap<>();

    @Deactivate
    void deactivate() {
        active = false;
        org.osgi.framework.ServiceRegistration<?> mr = metricsRegistration;
        if (mr != null) {
            try {
                mr.unregister();
            } catch (IllegalStateException e) {
                // already gone with the bundle
            }
        }
        Deadman d = deadman;
        if (d != null) {
            BundleContext bc = context;
            boolean runtimeStops = bc != null && bc.getBundle(0).getState() == Bundle.STOPPING;
            if (runtimeStops) {
                // (the demo: its other nodes stop right after this one) none of them takes or is handed the lock
                Set<zgres.api.NodeId> all = Set.copyOf(LOCAL.keySet());
                LOCAL.values().forEach(x -> x.stoppingWith(all));
            }
            LOCAL.remove(d.id());
            d.close();
        }
        ClusterReader r = reader;
        if (r != null) {
            r.close(); // after the deadman: a master stopping hands over from what it sees
        }
        zgres.deadman.http.HealthServer h = http;
        if (h != null) {
            h.close();
        }
    }

    public Deadman deadman() {
        return deadman;
    }

    static Map<String, String> bundles(BundleContext context) {
        Map<String, String> m = new TreeMap<>();
        try {
            for (Bundle b : context.getBundles()) {
                String bsn = b.getSymbolicName();
                if (bsn != null && bsn.startsWith("zgres.") && b.getState() == Bundle.ACTIVE) {
                    m.put(bsn, b.getVersion().toString());
                }
            }
        } catch (IllegalStateException e) {
            // framework stopping
        }
        return m;
    }
}
