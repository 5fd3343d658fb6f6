package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.junit.jupiter.api.Test;

import zgres.testkit.Group;
import zgres.testkit.Identities;
import zgres.testkit.NodeProcess;
import zgres.testkit.OsUser;
import zgres.testkit.Pg;
import zgres.testkit.RuntimeProcess;
import zgres.testkit.Tls;
import zgres.zookeeper.ZkPaths;

/**
 * ZooKeeper over TLS only: the runtime's embedded server (what {@code ./zgres zookeeper} runs) with a secure port and
 * no plain one, client certificates required and digest authentication enforced; a node joins through it and
 * bootstraps a master; a client whose certificate the server does not trust never gets in, and neither does a client
 * without TLS.
 */
class ZooKeeperTlsAcceptanceTest {
    static final List<String> JVM = List.of("-Xms24m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.util.logging.config.file=/dev/null");

    @Test
    void aNodeJoinsATlsOnlyZooKeeperAndAnUntrustedClientIsRefused() throws Exception {
        Path base = Files.createTempDirectory("zgres-tls-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        String user = OsUser.runtimeUser();
        OsUser.own(base, user);
        Tls tls = Tls.create(base.resolve("tls"));
        Identities ids = new Identities();
        Path cred = Files.createDirectories(base.resolve("credentials"));
        int securePort = Group.freePort();
        int plainPort = Group.freePort();

        Map<String, Object> server = new LinkedHashMap<>(ids.runtimeConfig(Identities.Role.SYNC, "", cred, user));
        server.remove("connect");
        server.putAll(tls.runtimeConfig("zookeeper", user));
        server.put("embedded_address", "127.0.0.1");
        server.put("embedded_port", plainPort);
        server.put("embedded_secure_port", securePort);
        server.put("embedded_tls_only", true);
        server.put("embedded_data_dir", base.resolve("zookeeper").toString());
        Map<String, Map<String, Object>> zkRuntime = new LinkedHashMap<>();
        zkRuntime.put("zgres.zookeeper", server);
        zkRuntime.put("zgres.config", Map.of("enabled", false));

        Map<String, Object> nodeZk = new LinkedHashMap<>(ids.runtimeConfig(Identities.Role.NODE, "127.0.0.1:"
                + securePort, cred, user));
        nodeZk.putAll(tls.runtimeConfig("node", user));
        int pgPort = Group.freePort();
        Map<String, Object> deadman = new LinkedHashMap<>();
        deadman.put("group", "tls");
        deadman.put("host", "127.0.0.1");
        deadman.put("port", pgPort);
        deadman.put("data_dir", base.resolve("n1").toString());
        deadman.put("superuser_password", Pg.PASSWORD);
        deadman.put("replication_password", Pg.PASSWORD);
        deadman.put("pg_parameters", new String[] {"shared_buffers = '16MB'", "max_connections = 20"});

        try (RuntimeProcess zk = new RuntimeProcess("zk", base, RuntimeProcess.jar(), zkRuntime, JVM, false);
                NodeProcess n1 = new NodeProcess("n1", base, RuntimeProcess.jar(), nodeZk, deadman, JVM)) {
            zk.start();
            awaitLog(zk, "TLS only", 60_000);
            assertThat(listening(plainPort)).as("no plain port").isFalse();
            assertThat(listening(securePort)).isTrue();

            n1.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Pg.writable(n1.host(), n1.port()) && System.nanoTime() < deadline) {
                Thread.sleep(250);
            }
            assertThat(Pg.writable(n1.host(), n1.port())).as("the node bootstrapped a master over TLS").isTrue();
            assertThat(Files.readString(n1.log())).contains("digest as zgres-node (role node), TLS");

            // an operator with a trusted certificate reads the tree over TLS
            try (CuratorFramework op = ids.client(Identities.Role.OPERATOR, "127.0.0.1:" + securePort, new ZkPaths(
                    "/zgres"), tls.clientConfig("operator"))) {
                op.start();
                assertThat(op.blockUntilConnected(20, TimeUnit.SECONDS)).isTrue();
                assertThat(op.checkExists().forPath("/zgres/lock/tls")).isNotNull();
            }
            // a client whose certificate the server does not trust (it trusts the server) never gets in
            try (CuratorFramework intruder = ids.client(Identities.Role.OPERATOR, "127.0.0.1:" + securePort,
                    new ZkPaths("/zgres"), tls.clientConfig("intruder"))) {
                intruder.start();
                assertThat(intruder.blockUntilConnected(8, TimeUnit.SECONDS)).as("untrusted certificate").isFalse();
            }
            // nor does a client without TLS
            try (CuratorFramework plain = CuratorFrameworkFactory.builder().connectString("127.0.0.1:" + securePort)
                    .retryPolicy(new RetryOneTime(100)).authorization("digest", ids.auth(Identities.Role.OPERATOR))
                    .connectionTimeoutMs(3000).build()) {
                plain.start();
                assertThat(plain.blockUntilConnected(8, TimeUnit.SECONDS)).as("no TLS").isFalse();
            }
            String serverLog = Files.readString(zk.log());
            assertThat(serverLog).as("the server says why").containsAnyOf("certificate", "Certificate",
                    "SSLHandshakeException", "handshake");
        } finally {
            try (var s = Files.walk(base)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static void awaitLog(RuntimeProcess p, String needle, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (p.count(needle) == 0) {
            if (System.nanoTime() > deadline || !p.alive()) {
                throw new AssertionError(p.name() + " did not log '" + needle + "':\n" + Files.readString(p.log()));
            }
            Thread.sleep(100);
        }
    }

    static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
