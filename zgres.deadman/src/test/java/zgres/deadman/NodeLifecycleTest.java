package zgres.deadman;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgTools;

/**
 * The life of registered nodes with real PostgreSQL and ZooKeeper: ephemeral znodes follow the deadman and its
 * session, /conn follows PostgreSQL's health, a foreign cluster is refused, and bad input elsewhere in the tree or
 * in the configuration changes nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeLifecycleTest {
    static final String G = "life";
    PgTestCluster c;
    Map<String, Object> n1;
    Map<String, Object> n2;
    Deadman d1;
    Deadman d2;

    @BeforeAll
    void start() throws Exception {
        c = new PgTestCluster(G);
        n1 = c.nodeConfig("n1");
        n2 = c.nodeConfig("n2");
        d1 = c.start(n1);
        await().atMost(Duration.ofSeconds(60)).until(() -> group().masterConn().isPresent());
        d2 = c.start(n2);
        await().atMost(Duration.ofSeconds(60)).until(() -> group().conns().size() == 2);
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    GroupState group() {
        return c.snapshot().group(G).orElse(GroupState.empty(G));
    }

    static NodeId id(Map<String, Object> n) {
        return new NodeId(G, "127.0.0.1", (Integer) n.get("port"));
    }

    @Test
    @Order(1)
    void connDisappearsWhenPostgresStopsAndComesBackWhenTheDeadmanRestartsIt() throws Exception {
        NodeId r = id(n2);
        List<String> events = new CopyOnWriteArrayList<>();
        try (CuratorCache cache = CuratorCache.build(c.observer, c.paths.connDir())) {
            cache.listenable().addListener(CuratorCacheListener.builder()
                    .forDeletes(d -> events.add("deleted " + d.getPath()))
                    .forCreates(d -> events.add("created " + d.getPath())).build());
            cache.start();
            long pid = d2Postmaster();
            ProcessHandle.of(pid).orElseThrow().destroyForcibly();
            await().atMost(Duration.ofSeconds(20)).until(() -> events.contains("deleted " + c.paths.conn(r)));
            await().atMost(Duration.ofSeconds(60)).until(() -> events.contains("created " + c.paths.conn(r))
                    && events.lastIndexOf("created " + c.paths.conn(r)) > events.indexOf("deleted " + c.paths.conn(r)));
            assertThat(d2Postmaster()).isNotEqualTo(pid);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> group().states().get(r).phase() == zgres.api.NodePhase.STREAMING);
    }

    @Test
    @Order(0)
    void theCheckpointLocationReadFromPgControlIsWhatPgControldataSays() throws Exception {
        var tools = new zgres.deadman.pg.PgTools(java.nio.file.Path.of("/usr/lib/postgresql/15/bin"), "postgres");
        var dir = java.nio.file.Path.of((String) n1.get("data_dir"));
        assertThat(zgres.deadman.pg.ControlData.shutdownCheckpoint(dir)).as("a running primary has no shutdown "
                + "checkpoint").isEmpty();
        for (int i = 0; i < 3; i++) {
            var fromTool = zgres.deadman.pg.ControlData.read(tools, dir).checkpointLsn();
            var fromFile = zgres.deadman.pg.ControlData.checkpointLsn(tools, dir);
            if (fromFile.equals(fromTool)) {
                assertThat(fromFile.value()).isPositive();
                return;
            }
            Thread.sleep(200); // a checkpoint between the two reads
        }
        throw new AssertionError("pg_control and pg_controldata disagree on the checkpoint location");
    }

    long d2Postmaster() throws Exception {
        String pid = java.nio.file.Files.readAllLines(java.nio.file.Path.of((String) n2.get("data_dir"),
                "postmaster.pid")).get(0);
        return Long.parseLong(pid.trim());
    }

    @Test
    @Order(2)
    void ephemeralZnodesComeBackAfterASessionLoss() throws Exception {
        NodeId r = id(n2);
        long before = d2.sessionId();
        d2Client().getZookeeperClient().getZooKeeper().getTestable().injectSessionExpiration();
        await().atMost(Duration.ofSeconds(30)).until(() -> d2.sessionId() != before && d2.sessionId() != 0);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Stat st = c.observer.checkExists().forPath(c.paths.state(r));
            Stat cn = c.observer.checkExists().forPath(c.paths.conn(r));
            assertThat(st).isNotNull();
            assertThat(cn).isNotNull();
            assertThat(st.getEphemeralOwner()).isEqualTo(d2.sessionId());
            assertThat(cn.getEphemeralOwner()).isEqualTo(d2.sessionId());
        });
        assertThat(group().master()).contains(id(n1));
    }

    org.apache.curator.framework.CuratorFramework d2Client() throws Exception {
        var f = Deadman.class.getDeclaredField("client");
        f.setAccessible(true);
        return (org.apache.curator.framework.CuratorFramework) f.get(d2);
    }

    @Test
    @Order(3)
    void garbageInAnotherNodesStateIsReportedAndIgnored() throws Exception {
        String bad = c.paths.stateDir() + "/" + G + "_10.9.9.9:5432";
        // ephemeral, as a deadman's would be: what is checked here is their content
        c.observer.create().withMode(org.apache.zookeeper.CreateMode.EPHEMERAL).forPath(bad,
                "{not json".getBytes(StandardCharsets.UTF_8));
        c.observer.create().withMode(org.apache.zookeeper.CreateMode.EPHEMERAL).forPath(c.paths.connDir() + "/" + G
                + "_10.9.9.9:5432",
                "{\"host\":\"10.9.9.9\",\"port\":5432}".getBytes(StandardCharsets.UTF_8));
        c.observer.create().forPath(c.paths.stateDir() + "/no-underscore-here", "{}".getBytes());
        c.observer.create().forPath(c.paths.staticDir() + "/other-db-id", "not-a-number".getBytes());
        try {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                ClusterSnapshot s = c.snapshot();
                assertThat(s.problems()).anySatisfy(p -> assertThat(p).startsWith(bad).contains("not JSON"));
                assertThat(s.problems()).anySatisfy(p -> assertThat(p).contains("no-underscore-here"));
                assertThat(s.problems()).anySatisfy(p -> assertThat(p).contains("other-db-id")
                        .contains("not a PostgreSQL system identifier"));
                GroupState g = s.group(G).orElseThrow();
                assertThat(g.conns()).as("a node whose state is unreadable counts as unhealthy")
                        .doesNotContainKey(NodeId.parse(G + "_10.9.9.9:5432"));
            });
            // both deadmans keep working
            Thread.sleep(1500);
            assertThat(group().master()).contains(id(n1));
            assertThat(group().states().get(id(n1)).role()).isEqualTo(Role.MASTER);
            assertThat(group().conns()).containsKeys(id(n1), id(n2));
            assertThat(d1.state()).isEqualTo(Deadman.State.STARTED);
            assertThat(d1.lastDecision()).contains("master, holding the lock");
        } finally {
            c.observer.delete().forPath(bad);
            c.observer.delete().forPath(c.paths.connDir() + "/" + G + "_10.9.9.9:5432");
            c.observer.delete().forPath(c.paths.stateDir() + "/no-underscore-here");
            c.observer.delete().forPath(c.paths.staticDir() + "/other-db-id");
        }
    }

    @Test
    @Order(4)
    void aNodeFromAnotherClusterIsRefused() throws Exception {
        Map<String, Object> n3 = c.nodeConfig("foreign");
        // a cluster made by another initdb: another system identifier
        DeadmanSettings s = DeadmanSettings.from(TestConfigs.of(DeadmanComponent.Config.class, n3));
        try (PgNode other = new PgNode(s.pgSpec(), new PgTools(s.pgBin(), s.pgUser()))) {
            other.data().initdb();
        }
        Deadman d3 = c.start(n3);
        NodeId f = id(n3);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            NodeState st = group().states().get(f);
            assertThat(st).isNotNull();
            assertThat(st.phase().jsonName()).isEqualTo("refused");
            assertThat(st.role()).isEqualTo(Role.STOPPED);
            assertThat(String.join(" ", st.problems())).contains("differs from the group's db-id")
                    .contains(group().dbId());
        });
        Thread.sleep(1000);
        assertThat(group().conns()).doesNotContainKey(f);
        assertThat(java.nio.file.Files.exists(java.nio.file.Path.of((String) n3.get("data_dir"), "postmaster.pid")))
                .as("PostgreSQL never started").isFalse();
        assertThat(d3.lastDecision()).startsWith("refuse:");
        d3.close();
    }

    @Test
    @Order(5)
    void anInvalidConfigurationIsRejectedWithKeyValueAndReason() {
        Map<String, Object> bad = new HashMap<>(n2);
        bad.put("group", "bad_group");
        bad.put("port", 70000);
        bad.put("rewind_failure", "explode");
        assertThatThrownBy(() -> DeadmanSettings.from(TestConfigs.of(DeadmanComponent.Config.class, bad)))
                .hasMessageContaining("group: 'bad_group' is not a valid group name")
                .hasMessageContaining("port: 70000 must be 1..65535")
                .hasMessageContaining("rewind_failure: 'explode' must be reclone or stop");
        Map<String, Object> moved = new HashMap<>(n2);
        moved.put("data_dir", "/somewhere/else");
        assertThatThrownBy(() -> d2.update(DeadmanSettings.from(TestConfigs.of(DeadmanComponent.Config.class,
                moved)))).hasMessageContaining("cannot change while running");
        assertThat(d2.state()).isEqualTo(Deadman.State.STARTED);
        assertThat(group().conns()).containsKey(id(n2));
    }

    @Test
    @Order(6)
    void stoppingADeadmanRemovesItsEphemeralZnodes() throws Exception {
        NodeId r = id(n2);
        d2.close();
        assertThat(c.observer.checkExists().forPath(c.paths.state(r))).isNull();
        assertThat(c.observer.checkExists().forPath(c.paths.conn(r))).isNull();
        assertThat(java.nio.file.Files.exists(java.nio.file.Path.of((String) n2.get("data_dir"), "postmaster.pid")))
                .as("PostgreSQL stopped with its deadman").isFalse();
        assertThat(group().master()).contains(id(n1));
        var replicaDir = java.nio.file.Path.of((String) n2.get("data_dir"));
        assertThat(zgres.deadman.pg.ControlData.shutdownCheckpoint(replicaDir)).as("a standby's shutdown is not a "
                + "primary's shutdown checkpoint").isEmpty();
    }

    @Test
    @Order(7)
    void aPrimaryStoppedCleanlyShowsItsShutdownCheckpointInPgControl() throws Exception {
        var tools = new zgres.deadman.pg.PgTools(java.nio.file.Path.of("/usr/lib/postgresql/15/bin"), "postgres");
        var dir = java.nio.file.Path.of((String) n1.get("data_dir"));
        d1.close();
        var cd = zgres.deadman.pg.ControlData.read(tools, dir);
        assertThat(cd.state()).isEqualTo("shut down");
        assertThat(zgres.deadman.pg.ControlData.shutdownCheckpoint(dir)).as("what a switchover hands over")
                .contains(cd.checkpointLsn());
    }
}
