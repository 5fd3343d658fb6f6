package zgres.deadman;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.TestingServer;

import zgres.api.ClusterSnapshot;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgTools;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.ZkPaths;

/**
 * A real ZooKeeper (curator-test's TestingServer, in this JVM) and deadmans managing real PostgreSQL 15 clusters
 * under a temporary directory. PostgreSQL runs as the {@code postgres} OS user when the tests run as root.
 */
public final class PgTestCluster implements AutoCloseable {
    public static final String PASSWORD = "zgres-test-pw";
    public final Path base;
    public final TestingServer zk;
    public final ZkPaths paths = new ZkPaths("/zgres");
    public final CuratorFramework observer;
    public final ClusterReader reader;
    private final List<Deadman> deadmans = new ArrayList<>();
    private final String group;

    public PgTestCluster(String group) throws Exception {
        this.group = group;
        base = Files.createTempDirectory("zgres-it-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        zk = new TestingServer(freePort(), true);
        observer = client(10_000);
        observer.start();
        reader = new ClusterReader(observer, paths, "test");
        reader.start();
        reader.awaitInitialized(10, TimeUnit.SECONDS);
    }

    public CuratorFramework client(int sessionTimeoutMs) {
        return CuratorFrameworkFactory.builder().connectString(zk.getConnectString())
                .sessionTimeoutMs(sessionTimeoutMs).connectionTimeoutMs(Math.min(5000, sessionTimeoutMs))
                .retryPolicy(new ExponentialBackoffRetry(50, 4, 500)).build();
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Configuration values of a node of this group on a free port. */
    public Map<String, Object> nodeConfig(String name) throws IOException {
        Map<String, Object> c = new HashMap<>();
        c.put("group", group);
        c.put("host", "127.0.0.1");
        c.put("port", freePort());
        c.put("data_dir", base.resolve(name).toString());
        c.put("superuser_password", PASSWORD);
        c.put("replication_password", PASSWORD);
        c.put("session_timeout_ms", 4000);
        c.put("loop_wait_ms", 300);
        c.put("state_interval_ms", 300);
        c.put("pg_parameters", new String[] {"shared_buffers = '16MB'", "max_connections = '30'"});
        return c;
    }

    public Deadman start(Map<String, Object> config) throws Exception {
        DeadmanSettings s = DeadmanSettings.from(TestConfigs.of(DeadmanComponent.Config.class, config));
        PgNode pg = new PgNode(s.pgSpec(), new PgTools(s.pgBin(), s.pgUser()));
        Deadman d = new Deadman(s, client(s.sessionTimeoutMs()), paths, reader, pg,
                new Extensions(() -> Map.of("zgres.deadman", "test"), List::of, List::of,
                        () -> List.of(new zgres.clone.basebackup.BasebackupMethod()), List::of));
        deadmans.add(d);
        d.start();
        return d;
    }

    public ClusterSnapshot snapshot() {
        return reader.rebuild();
    }

    public static Connection connect(int port) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("password", PASSWORD);
        p.setProperty("connectTimeout", "3");
        p.setProperty("socketTimeout", "10");
        return new org.postgresql.Driver().connect("jdbc:postgresql://127.0.0.1:" + port + "/postgres", p);
    }

    @Override
    public void close() throws Exception {
        for (Deadman d : deadmans) {
            try {
                d.close();
            } catch (RuntimeException e) {
                e.printStackTrace();
            }
        }
        reader.close();
        observer.close();
        zk.close();
        try (var s = Files.walk(base)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // best effort
        }
    }
}
