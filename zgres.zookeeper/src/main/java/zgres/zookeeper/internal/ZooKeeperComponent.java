package zgres.zookeeper.internal;

import java.nio.file.Path;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.retry.BoundedExponentialBackoffRetry;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.zookeeper.Coordination;
import zgres.zookeeper.ZkPaths;

/**
 * The runtime's ZooKeeper connection. With no {@code connect} string it starts an embedded ZooKeeper server and
 * connects to it; otherwise it uses the given ensemble. Property names use {@code _} (OSGi maps a method
 * {@code a__b} to the property {@code a_b}).
 */
@Component(configurationPid = ZooKeeperComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ZooKeeperComponent.Config.class)
public class ZooKeeperComponent implements Coordination, zgres.api.metrics.MetricSource {
    public static final String PID = "zgres.zookeeper";
    private static final Logger LOG = LoggerFactory.getLogger(ZooKeeperComponent.class);

    @ObjectClassDefinition(name = "zgres ZooKeeper", description = "How this runtime reaches ZooKeeper")
    public @interface Config {
        @AttributeDefinition(description = "ZooKeeper connect string host:port[,host:port...]; empty starts an "
                + "embedded server")
        String connect() default "";

        @AttributeDefinition(description = "Root znode of the zgres tree")
        String root() default ZkPaths.DEFAULT_ROOT;

        @AttributeDefinition(description = "Session timeout of the shared client (readers, shell), ms", min = "200")
        int session__timeout__ms() default 10000;

        @AttributeDefinition(description = "Connection timeout, ms", min = "100")
        int connection__timeout__ms() default 5000;

        @AttributeDefinition(description = "Embedded server: address to bind")
        String embedded__address() default "127.0.0.1";

        @AttributeDefinition(description = "Embedded server: client port", min = "1", max = "65535")
        int embedded__port() default 2181;

        @AttributeDefinition(description = "Embedded server: data directory (required when embedded)")
        String embedded__data__dir() default "";

        @AttributeDefinition(description = "Embedded server: tick time, ms (sessions may be 2 ticks to 60 s)",
                min = "10")
        int embedded__tick__ms() default 100;

        @AttributeDefinition(description = "Embedded server: TLS client port (0: none); with tls_only the plain "
                + "port is not opened", min = "0", max = "65535")
        int embedded__secure__port() default 0;

        @AttributeDefinition(description = "Embedded server: serve TLS only (embedded_secure_port, no plain port)")
        boolean embedded__tls__only() default false;

        @AttributeDefinition(description = "How this runtime authenticates to ZooKeeper: digest (user:password in "
                + "credentials_file), sasl (JAAS), x509 (the TLS client certificate) or none (no authentication: "
                + "anyone who reaches ZooKeeper controls the cluster). The embedded server enforces it.",
                options = {@Option(value = "digest"), @Option(value = "sasl"), @Option(value = "x509"),
                        @Option(value = "none")})
        String auth() default "digest";

        @AttributeDefinition(description = "auth = digest: a file with one line user:password, owned by this "
                + "runtime's user, mode 600 (see ./zgres credentials)")
        String credentials__file() default "";

        @AttributeDefinition(description = "A file of the ids of each role (lines node=ID, operator=ID, sync=ID; "
                + "./zgres credentials writes it); not writable by others. Adds to acl_node, acl_operator, acl_sync")
        String acl__file() default "";

        @AttributeDefinition(description = "ZooKeeper ids (scheme:id) of database nodes: they write /state, /conn, "
                + "/lock, /static, /history, /sync, /switchover")
        String[] acl__node() default {};

        @AttributeDefinition(description = "ZooKeeper ids of operators: they may also write /config and /pause and "
                + "change ACLs")
        String[] acl__operator() default {};

        @AttributeDefinition(description = "ZooKeeper ids of sync daemons and readers: read only")
        String[] acl__sync() default {};

        @AttributeDefinition(description = "Let anyone read the zgres tree (never write)")
        boolean acl__world__read() default false;

        @AttributeDefinition(description = "auth = sasl: the JAAS configuration file (mode 600)")
        String sasl__jaas__file() default "";

        @AttributeDefinition(description = "auth = sasl: the JAAS section of the ZooKeeper client")
        String sasl__section() default "Client";

        @AttributeDefinition(description = "Connect with TLS (ZooKeeper's secure client port)")
        boolean tls() default false;

        @AttributeDefinition(description = "TLS: this runtime's key and certificate (PKCS12, JKS or PEM)")
        String tls__keystore() default "";

        @AttributeDefinition(description = "TLS: file holding the keystore password (mode 600)")
        String tls__keystore__password__file() default "";

        @AttributeDefinition(description = "TLS: the certificates this runtime trusts")
        String tls__truststore() default "";

        @AttributeDefinition(description = "TLS: file holding the truststore password (mode 600)")
        String tls__truststore__password__file() default "";

        @AttributeDefinition(description = "TLS: check that the server's certificate names the host connected to")
        boolean tls__hostname__verification() default true;
    }

    private EmbeddedZooKeeper embedded;
    private String connectString;
    private ZkPaths paths;
    private CuratorFramework client;
    private int connectionTimeoutMs;
    private ClientSecurity security;

    @Activate
    public ZooKeeperComponent(Config config) throws Exception {
        try {
            start(config);
        } catch (Exception e) {
            // one line naming what is wrong (the framework's own report is a bare stack trace)
            LOG.error("zgres.zookeeper: cannot start: {}", e.getMessage());
            throw e;
        }
    }

    private void start(Config config) throws Exception {
        this.paths = new ZkPaths(config.root());
        this.connectionTimeoutMs = config.connection__timeout__ms();
        try {
            this.security = new ClientSecurity(config, paths);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("zgres.zookeeper: " + e.getMessage(), e);
        }
        if (security.auth() == ClientSecurity.Auth.none) {
            LOG.warn("ZooKeeper authentication is off (auth = none): anyone who can reach ZooKeeper controls this "
                    + "cluster");
        }
        if (config.connect().isBlank()) {
            if (config.embedded__data__dir().isBlank()) {
                throw new IllegalArgumentException("zgres.zookeeper: 'embedded_data_dir' is required when 'connect' "
                        + "is empty (the embedded server needs a data directory)");
            }
            embedded = new EmbeddedZooKeeper(config.embedded__address(), config.embedded__port(),
                    Path.of(config.embedded__data__dir()), config.embedded__tick__ms(), security,
                    config.embedded__secure__port(), config.embedded__tls__only());
            connectString = embedded.connectString();
        } else {
            embedded = null;
            connectString = config.connect().trim();
        }
        client = newClient("shared", config.session__timeout__ms());
        client.start();
        LOG.info("ZooKeeper {} (root {}){}: {}", connectString, paths.root(), embedded != null ? ", embedded" : "",
                security.describe());
    }

    @Deactivate
    void deactivate() {
        close();
    }

    /** Closes the shared client (and the embedded server): what deactivation does, for a plain client (ctl). */
    public synchronized void close() {
        if (tickProbe != null) {
            tickProbe.interrupt();
        }
        if (client.getZookeeperClient().isConnected()) {
            client.close();
        } else {
            // closing asks the server to end the session and waits for an answer that cannot come: not on the way
            // out of the runtime (the session expires by itself)
            Thread t = new Thread(client::close, "zgres-zk-close");
            t.setDaemon(true);
            t.start();
        }
        if (embedded != null) {
            embedded.close();
        }
    }

    @Override
    public String connectString() {
        return connectString;
    }

    @Override
    public ZkPaths paths() {
        return paths;
    }

    @Override
    public CuratorFramework client() {
        return client;
    }

    /** The runtime's shared connection (readers, shell, sync daemon); each deadman reports its own. */
    @Override
    public void collect(zgres.api.metrics.MetricWriter out) {
        out.gauge("zgres_zookeeper_shared_connected", "1 while the runtime's shared ZooKeeper client is connected",
                client.getZookeeperClient().isConnected() ? 1 : 0);
        out.gauge("zgres_zookeeper_tick_seconds", "The ensemble's tick time as learned (0: not yet)",
                tick.get() / 1000.0);
    }

    @Override
    public ACLProvider acls() {
        return security.acls();
    }

    /** the probe's request: short enough to learn a tick of 200 ms or more, long enough to connect on a LAN */
    static final int PROBE_SESSION_MS = 400;
    private final java.util.concurrent.atomic.AtomicInteger tick = new java.util.concurrent.atomic.AtomicInteger();
    private Thread tickProbe;

    /**
     * Never blocks: 0 until the background probe has learned the tick (it retries every 10 s until it does). The
     * probe starts at the first call: a runtime without a deadman (a sync daemon, ctl) opens no probe session.
     */
    @Override
    public int tickTimeMs() {
        synchronized (this) {
            if (tickProbe == null) {
                tickProbe = new Thread(this::learnTick, "zgres-zk-tick-probe");
                tickProbe.setDaemon(true);
                tickProbe.start();
            }
        }
        return tick.get();
    }

    private void learnTick() {
        boolean warned = false;
        while (!Thread.currentThread().isInterrupted()) {
            int t = probeTick();
            if (t > 0) {
                tick.set(t);
                return;
            }
            if (!warned) {
                LOG.warn("could not learn ZooKeeper's tick time yet (a probe session did not connect): until it is "
                        + "known the lease margin is max(100 ms, T/10) and is not checked against it; retrying");
                warned = true;
            }
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private int probeTick() {
        for (int attempt = 0; attempt < 3 && !Thread.currentThread().isInterrupted(); attempt++) {
            int asked = attempt < 2 ? PROBE_SESSION_MS : 10 * PROBE_SESSION_MS;
            try (CuratorFramework probe = newClient("tick-probe", asked)) {
                probe.start();
                if (!probe.blockUntilConnected(5, java.util.concurrent.TimeUnit.SECONDS)) {
                    continue;
                }
                int granted = probe.getZookeeperClient().getZooKeeper().getSessionTimeout();
                int t = Math.max(granted, asked) / 2;
                LOG.info("ZooKeeper tick time: {} {} ms (a session asking for {} ms was granted {} ms)",
                        granted > asked ? "about" : "at most", t, asked, granted);
                return t;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                LOG.debug("tick probe failed: {}", e.toString());
            }
        }
        return 0;
    }

    @Override
    public CuratorFramework newClient(String name, int sessionTimeoutMs) {
        return security.apply(CuratorFrameworkFactory.builder())
                .connectString(connectString)
                .sessionTimeoutMs(sessionTimeoutMs)
                .connectionTimeoutMs(Math.min(connectionTimeoutMs, sessionTimeoutMs))
                // (bounded: the plain one warns each time a sleep reaches its cap, every retry of an outage)
                .retryPolicy(new BoundedExponentialBackoffRetry(50, 500, 4))
                // keep the configured connect string: ensemble tracking would replace it with the servers' own
                // addresses (from /zookeeper/config), bypassing proxies, NAT and the operator's choice
                .ensembleTracker(false)
                .threadFactory(threads("zgres-zk-" + name))
                .build();
    }

    static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
