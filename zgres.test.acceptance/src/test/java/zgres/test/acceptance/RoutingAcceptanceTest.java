package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Tags;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.OsUser;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Routing;
import zgres.zookeeper.Znodes;

/**
 * A sync daemon in front of a real group, as users run it (its own process: the sync daemon and its plugins in the
 * exported runtime): a real pgbouncer and a real HAProxy route new connections to the master and the replicas,
 * follow a failover, close sessions that were open on an old master, and do nothing when given the same snapshot
 * twice; a plugin that fails stops nobody; the apply and pg_hba plugins do their work.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RoutingAcceptanceTest {
    static final Profile TEST = new Profile("test", 3000, 300, 300, 100, 1500, true);
    /** a second group in ZooKeeper whose znodes the test writes itself, pointing at the real servers */
    static final String FAKE = "routefake";
    Group g;
    Routing r;
    Path hookDir;
    int fakeRw;
    int fakeRo;

    @BeforeAll
    void start() throws Exception {
        g = new Group("route", 3, TEST, 1, Map.of());
        g.start();
        hookDir = Files.createTempDirectory("zgres-apply-");
        Files.setPosixFilePermissions(hookDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        OsUser.own(hookDir, OsUser.runtimeUser()); // the sync daemon's user writes here
        Path hook = hookDir.resolve("hook.sh");
        Files.writeString(hook, "#!/bin/sh\ncp \"$1\" " + hookDir.resolve("calls") + "\n");
        Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwxr-xr-x"));
        NodeProcess n1 = g.nodes().get(0);
        Map<String, Map<String, Object>> plugins = new LinkedHashMap<>();
        plugins.put("zgres.plugin.apply~broken", Map.of("path", hookDir.resolve("broken.json").toString(),
                "executables", List.of("/bin/false")));
        plugins.put("zgres.plugin.apply~hook", Map.of("path", hookDir.resolve("databases.json").toString(),
                "executables", List.of(hook.toString())));
        plugins.put("zgres.plugin.pghba~n1", Map.of("group", "route", "data_dir", n1.dataDir().toString(),
                "user", "replicator", "method", "scram-sha-256"));
        fakeRw = Group.freePort();
        fakeRo = Group.freePort();
        r = new Routing(g, Map.of(FAKE, new int[] {fakeRw, fakeRo}), plugins);
    }

    @AfterAll
    void stop() throws Exception {
        if (r != null) {
            r.close();
        }
        if (g != null) {
            g.close();
        }
    }

    static void await(String what, Duration d, org.awaitility.core.ThrowingRunnable check) {
        Awaitility.await(what).atMost(d).pollInterval(Duration.ofMillis(50)).ignoreExceptions().untilAsserted(check);
    }

    @Test
    @Order(1)
    void newConnectionsReachTheMasterAndTheReplicasThroughBothProxies() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        await("pgbouncer and HAProxy route the group", Duration.ofSeconds(30), () -> {
            assertThat(r.landsOn(true, true)).isEqualTo(m.port());
            assertThat(r.landsOn(false, true)).isEqualTo(m.port());
        });
        try (Connection c = r.viaPgbouncer("route-ro")) {
            assertThat(Routing.inRecovery(c)).as("pgbouncer's read-only database is a replica").isTrue();
        }
        try (Connection c = r.viaHaproxy(false)) {
            assertThat(Routing.inRecovery(c)).as("HAProxy's read-only backend is a replica").isTrue();
        }
        try (Connection c = r.viaPgbouncer("route"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS routed (x int)");
            s.execute("INSERT INTO routed VALUES (1)");
        }
        String ro = Files.readString(r.work.resolve("pgbouncer/databases.ini"));
        assertThat(ro).contains("route = host=127.0.0.1 port=" + m.port()).contains("route-ro = host=127.0.0.1");
        await("the other plugins applied while the broken one fails and is retried", Duration.ofSeconds(20), () -> {
            Map<String, Routing.PluginStatus> st = r.status();
            assertThat(st.get("apply~broken").failures()).as("the broken plugin failed and is retried")
                    .isGreaterThan(1);
            assertThat(st.values().stream().filter(p -> !p.name().equals("apply~broken")))
                    .allSatisfy(p -> assertThat(p.applied()).as(p.name()).isPositive());
        });
    }

    @Test
    @Order(2)
    void theSameSnapshotTwiceChangesNothing() throws Exception {
        await("the plugins applied the current snapshot", Duration.ofSeconds(10), () -> assertThat(
                r.status().get("haproxy~itest").applied()).isPositive());
        Thread.sleep(500);
        Path pgbLog = r.work.resolve("pgbouncer/pgbouncer.log");
        long reloads = Files.readAllLines(pgbLog).stream().filter(l -> l.contains("SIGHUP")).count();
        long hreloads = r.daemon().count("HAProxy started") + r.daemon().count("HAProxy reloaded");
        long commands = r.daemon().count("runtime command(s)");
        long mtime = Files.getLastModifiedTime(r.work.resolve("pgbouncer/databases.ini")).toMillis();
        Map<String, Routing.PluginStatus> before = r.status();
        r.resync();
        r.resync();
        await("both snapshots applied", Duration.ofSeconds(10), () -> {
            Map<String, Routing.PluginStatus> now = r.status();
            assertThat(now.get("pgbouncer~itest").applied()).isGreaterThanOrEqualTo(before.get("pgbouncer~itest")
                    .applied() + 2);
            assertThat(now.get("haproxy~itest").applied()).isGreaterThanOrEqualTo(before.get("haproxy~itest")
                    .applied() + 2);
        });
        Thread.sleep(300);
        assertThat(Files.readAllLines(pgbLog).stream().filter(l -> l.contains("SIGHUP")).count()).isEqualTo(reloads);
        assertThat(r.daemon().count("HAProxy started") + r.daemon().count("HAProxy reloaded")).isEqualTo(hreloads);
        assertThat(r.daemon().count("runtime command(s)")).isEqualTo(commands);
        assertThat(Files.getLastModifiedTime(r.work.resolve("pgbouncer/databases.ini")).toMillis()).isEqualTo(mtime);
    }

    /** The fake nodes' ZooKeeper sessions: each node publishes its own ephemerals, as a deadman does. */
    final Map<NodeId, CuratorFramework> fakeSessions = new java.util.HashMap<>();

    CuratorFramework fakeSession(NodeId n) {
        return fakeSessions.computeIfAbsent(n, k -> {
            CuratorFramework c = g.identities().client(zgres.testkit.Identities.Role.NODE,
                    g.zookeeper().connectString(), g.paths());
            c.start();
            try {
                c.blockUntilConnected(20, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return c;
        });
    }

    /** The fake group's znodes: both nodes healthy, the lock on {@code master} (created by its session). */
    void fakeGroup(NodeId master, List<NodeId> nodes) throws Exception {
        for (NodeId n : nodes) {
            NodeState st = new NodeState(n, n.equals(master) ? Role.MASTER : Role.REPLICA, n.equals(master)
                    ? NodePhase.RUNNING : NodePhase.STREAMING, "", List.of(), 1, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, 0, "",
                    Tags.NONE, false, Map.of(), Map.of(), Instant.now());
            CuratorFramework zk = fakeSession(n);
            zk.create().orSetData().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(
                    g.paths().state(n), Znodes.encode(st));
            zk.create().orSetData().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(
                    g.paths().conn(n), Znodes.encode(new ConnInfo(n.host(), n.port(), "postgres", "")));
        }
        fakeSession(master).delete().quietly().forPath(g.paths().lock(FAKE));
        fakeSession(master).create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(g.paths()
                .lock(FAKE), Znodes.encodeLock(master));
    }

    @Test
    @Order(3)
    void whenTheMasterMovesSessionsOpenOnTheOldMasterAreClosed() throws Exception {
        // a group the test writes itself: its "master" moves while the old one still runs, exactly what the plugins
        // see during a switchover (and nothing else reacts to it)
        NodeProcess m = g.master().orElseThrow();
        NodeProcess other = g.nodes().stream().filter(n -> n != m).findFirst().orElseThrow();
        NodeId a = new NodeId(FAKE, m.host(), m.port());
        NodeId b = new NodeId(FAKE, other.host(), other.port());
        fakeGroup(a, List.of(a, b));
        try {
            await("both proxies route the fake group to its master", Duration.ofSeconds(20), () -> {
                try (Connection c = r.viaPgbouncer(FAKE)) {
                    assertThat(Routing.serverPort(c)).isEqualTo(m.port());
                }
                try (Connection c = Routing.connect(fakeRw, "postgres")) {
                    assertThat(Routing.serverPort(c)).isEqualTo(m.port());
                }
            });
            try (Connection viaBouncer = r.viaPgbouncer(FAKE); Connection viaHaproxy = Routing.connect(fakeRw,
                    "postgres")) {
                assertThat(Routing.serverPort(viaBouncer)).isEqualTo(m.port());
                assertThat(Routing.serverPort(viaHaproxy)).isEqualTo(m.port());
                fakeGroup(b, List.of(a, b));
                await("pgbouncer closed the session on the old master", Duration.ofSeconds(5),
                        () -> assertThatThrownBy(() -> Routing.serverPort(viaBouncer)).isInstanceOf(SQLException.class));
                await("HAProxy closed the session on the old master", Duration.ofSeconds(5),
                        () -> assertThatThrownBy(() -> Routing.serverPort(viaHaproxy)).isInstanceOf(SQLException.class));
                try (Connection c = r.viaPgbouncer(FAKE)) {
                    assertThat(Routing.serverPort(c)).isEqualTo(other.port());
                }
                try (Connection c = Routing.connect(fakeRw, "postgres")) {
                    assertThat(Routing.serverPort(c)).isEqualTo(other.port());
                }
            }
        } finally {
            fakeSessions.values().forEach(CuratorFramework::close); // its ephemerals go with the sessions
            fakeSessions.clear();
        }
        await("the real group still routed to its master", Duration.ofSeconds(10), () -> {
            assertThat(r.landsOn(true, true)).isEqualTo(m.port());
            assertThat(r.landsOn(false, true)).isEqualTo(m.port());
        });
    }

    @Test
    @Order(4)
    void afterAFailoverNewConnectionsReachTheNewMaster() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        Connection open = r.viaPgbouncer("route");
        assertThat(Routing.serverPort(open)).isEqualTo(m.port());
        m.killNode();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        await("both proxies route to the new master", Duration.ofSeconds(10), () -> {
            assertThat(r.landsOn(true, true)).isEqualTo(n.port());
            assertThat(r.landsOn(false, true)).isEqualTo(n.port());
        });
        await("writes through pgbouncer succeed on the new master", Duration.ofSeconds(10), () -> {
            try (Connection c = r.viaPgbouncer("route"); Statement s = c.createStatement()) {
                s.execute("INSERT INTO routed VALUES (2)");
            }
        });
        assertThatThrownBy(() -> Routing.serverPort(open)).as("the session on the dead master is gone")
                .isInstanceOf(SQLException.class);
        open.close();
        m.start();
        g.awaitHealthy(3, 120_000);
    }

    @Test
    @Order(5)
    void theApplyPluginWritesTheJsonAndRunsItsExecutable() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        Path calls = hookDir.resolve("calls");
        await("the executable ran with the JSON", Duration.ofSeconds(10), () -> {
            JsonNode j = new ObjectMapper().readTree(calls.toFile());
            assertThat(j.get("masters").get("route").asText()).isEqualTo(g.id(m).toString());
            assertThat(j.get("healthy")).hasSize(3);
        });
    }

    @Test
    @Order(6)
    void thePgHbaPluginAllowsReplicationFromEveryMemberAndReloadsPostgres() throws Exception {
        NodeProcess n = g.nodes().get(0);
        await("the managed block is in pg_hba.conf", Duration.ofSeconds(10), () -> assertThat(Files.readString(
                n.dataDir().resolve("pg_hba.conf"))).startsWith("# BEGIN zgres")
                .contains("host replication replicator 127.0.0.1/32 scram-sha-256"));
        await("PostgreSQL runs with it", Duration.ofSeconds(10), () -> assertThat(Pg.one(n.host(), n.port(),
                "SELECT count(*) FROM pg_hba_file_rules WHERE line_number = 2 AND address = '127.0.0.1' AND "
                        + "'replication' = ANY(database) AND error IS NULL")).isEqualTo("1"));
        Path pglog = n.dataDir().resolveSibling(n.dataDir().getFileName() + ".log");
        await("PostgreSQL reloaded its configuration", Duration.ofSeconds(10), () -> assertThat(Files.readString(pglog))
                .contains("received SIGHUP, reloading configuration files"));
        assertThat(Pg.one(n.host(), n.port(), "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"))
                .isEqualTo("0");
        GroupState st = g.state();
        assertThat(st.conns()).hasSize(3);
    }
}
