package zgres.zookeeper.internal;

import java.nio.file.Path;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
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
public class ZooKeeperComponent implements Coordination {
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
    }

    private final EmbeddedZooKeeper embedded;
    private final String connectString;
    private final ZkPaths paths;
    private final CuratorFramework client;
    private final int connectionTimeoutMs;

    @Activate
    public ZooKeeperComponent(Config config) throws Exception {
        this.paths = new ZkPaths(config.root());
        this.connectionTimeoutMs = config.connection__timeout__ms();
        if (config.connect().isBlank()) {
            if (config.embedded__data__dir().isBlank()) {
                throw new IllegalArgumentException("zgres.zookeeper: 'embedded_data_dir' is required when 'connect' "
                        + "is empty (the embedded server needs a data directory)");
            }
            embedded = new EmbeddedZooKeeper(config.embedded__address(), config.embedded__port(),
                    Path.of(config.embedded__data__dir()), config.embedded__tick__ms());
            connectString = embedded.connectString();
        } else {
            embedded = null;
            connectString = config.connect().trim();
        }
        client = newClient("shared", config.session__timeout__ms());
        client.start();
        LOG.info("ZooKeeper {} (root {}){}", connectString, paths.root(), embedded != null ? ", embedded" : "");
    }

    @Deactivate
    void deactivate() {
        client.close();
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

    @Override
    public CuratorFramework newClient(String name, int sessionTimeoutMs) {
        return CuratorFrameworkFactory.builder()
                .connectString(connectString)
                .sessionTimeoutMs(sessionTimeoutMs)
                .connectionTimeoutMs(Math.min(connectionTimeoutMs, sessionTimeoutMs))
                .retryPolicy(new ExponentialBackoffRetry(50, 4, 500))
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
