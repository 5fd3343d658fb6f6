package zgres.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.CreateMode;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;

import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Tags;

/** The reader against a real ZooKeeper server: snapshots per change, bad znodes ignored and reported. */
class ClusterReaderTest {
    @Test
    void snapshotsFollowTheTreeAndIgnoreMalformedZnodes() throws Exception {
        try (TestingServer zk = new TestingServer(true);
                CuratorFramework c = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100));
                CuratorFramework c2 = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100))) {
            c.start();
            c2.start();
            ZkPaths p = new ZkPaths("/zgres");
            List<ClusterSnapshot> seen = new CopyOnWriteArrayList<>();
            try (ClusterReader r = new ClusterReader(c, p, "test")) {
                r.addListener(seen::add);
                r.start();
                assertThat(r.awaitInitialized(10, TimeUnit.SECONDS)).isTrue();
                NodeId m = NodeId.parse("db_10.0.0.1:5432");
                NodeId x = NodeId.parse("db_10.0.0.2:5432");
                NodeState ms = new NodeState(m, Role.MASTER, NodePhase.RUNNING, "", List.of(), 1, Lsn.of(10), Lsn.of(10),
                        Lsn.of(10), 0, "7", Tags.NONE, false, Map.of(), Map.of(), Instant.now());
                NodeState foreign = new NodeState(x, Role.REPLICA, NodePhase.STREAMING, "", List.of(), 1, Lsn.of(5),
                        Lsn.of(5), Lsn.ZERO, 0, "8", Tags.NONE, false, Map.of(), Map.of(), Instant.now());
                // each node's deadman has its own session: /state, /conn (and the master's /lock) are its ephemerals
                c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.state(m),
                        Znodes.encode(ms));
                c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.conn(m),
                        Znodes.encode(new ConnInfo("10.0.0.1", 5432, "postgres", "")));
                c2.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.state(x),
                        Znodes.encode(foreign));
                c2.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.conn(x),
                        Znodes.encode(new ConnInfo("10.0.0.2", 5432, "postgres", "")));
                // the lock's content names x, but the lock is m's session's: m holds it
                c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.lock("db"),
                        "10.0.0.2:5432".getBytes());
                // strict reading: a persistent /state, a /conn of another session, a /conn naming another address
                NodeId y = NodeId.parse("db_10.0.0.3:5432");
                c.create().creatingParentsIfNeeded().forPath(p.state(y), Znodes.encode(new NodeState(y, Role.REPLICA,
                        NodePhase.STREAMING, "", List.of(), 1, Lsn.of(99), Lsn.of(99), Lsn.ZERO, 0, "7", Tags.NONE,
                        false, Map.of(), Map.of(), Instant.now())));
                NodeId z = NodeId.parse("db_10.0.0.4:5432");
                c2.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.conn(z),
                        "{\"host\":\"10.0.0.9\",\"port\":5432}".getBytes());
                c.create().creatingParentsIfNeeded().forPath(p.dbId("db"), "7".getBytes());
                c.create().creatingParentsIfNeeded().forPath(p.lockDir() + "/bad_name", "x".getBytes());
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                    ClusterSnapshot s = r.snapshot();
                    GroupState g = s.group("db").orElseThrow();
                    assertThat(g.master()).contains(m);
                    assertThat(g.masterConn()).isPresent();
                    assertThat(g.dbId()).isEqualTo("7");
                    assertThat(g.conns()).as("another cluster's node loses its /conn").containsOnlyKeys(m);
                    assertThat(g.states().get(x).problems()).anySatisfy(q -> assertThat(q).contains("differs"));
                    assertThat(s.problems()).anySatisfy(q -> assertThat(q).contains("bad_name")
                            .contains("invalid group name"));
                    assertThat(g.states()).as("a persistent /state is nobody's").doesNotContainKey(y);
                    assertThat(s.problems()).anySatisfy(q -> assertThat(q).contains(p.state(y))
                            .contains("not ephemeral"));
                    assertThat(s.problems()).anySatisfy(q -> assertThat(q).contains(p.conn(z))
                            .contains("10.0.0.9:5432 is not its node's 10.0.0.4:5432"));
                    assertThat(s.problems()).anySatisfy(q -> assertThat(q).contains("names 10.0.0.2:5432")
                            .contains("10.0.0.1:5432 holds it"));
                });
                assertThat(r.snapshot().group("db").orElseThrow().lock().orElseThrow().created())
                        .as("the lock's creating transaction is known").isPositive();
                assertThat(seen.size()).isGreaterThan(3);
                assertThat(seen.get(seen.size() - 1).sequence()).isGreaterThan(seen.get(0).sequence());
            }
        }
    }

    /** What {@code ./zgres ctl} relies on: once {@code awaitInitialized} returns, the snapshot holds the whole tree. */
    @Test
    void theFirstSnapshotIsCompleteWhenInitializedReturns() throws Exception {
        try (TestingServer zk = new TestingServer(true);
                CuratorFramework c = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100))) {
            c.start();
            ZkPaths p = new ZkPaths("/zgres");
            c.create().creatingParentsIfNeeded().forPath(p.lock("db"), "10.0.0.1:5432".getBytes());
            c.create().creatingParentsIfNeeded().forPath(p.dbId("db"), "7".getBytes());
            for (int i = 0; i < 30; i++) {
                try (ClusterReader r = new ClusterReader(c, p, "test")) {
                    r.start();
                    assertThat(r.awaitInitialized(10, TimeUnit.SECONDS)).isTrue();
                    assertThat(r.snapshot().group("db")).as("the group, read #" + i).isPresent();
                }
            }
        }
    }

    /** A deadman's reader keeps its own group: other groups and junk under the root neither fill it nor wake it. */
    @Test
    void aReaderOfOneGroupKeepsOnlyThatGroup() throws Exception {
        try (TestingServer zk = new TestingServer(true);
                CuratorFramework c = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100))) {
            c.start();
            ZkPaths p = new ZkPaths("/zgres");
            NodeId mine = NodeId.parse("db_10.0.0.1:5432");
            c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.state(mine),
                    Znodes.encode(new NodeState(mine, Role.MASTER, NodePhase.RUNNING, "", List.of(), 1, Lsn.of(10),
                            Lsn.of(10), Lsn.of(10), 0, "7", Tags.NONE, false, Map.of(), Map.of(), Instant.now())));
            c.create().creatingParentsIfNeeded().forPath(p.dbId("db"), "7".getBytes());
            // a group whose name starts like ours, another group, and junk of every shape
            for (String g : List.of("db-2", "other")) {
                NodeId n = NodeId.parse(g + "_10.0.0.2:5432");
                c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.state(n),
                        Znodes.encode(new NodeState(n, Role.MASTER, NodePhase.RUNNING, "", List.of(), 1, Lsn.of(10),
                                Lsn.of(10), Lsn.of(10), 0, "8", Tags.NONE, false, Map.of(), Map.of(), Instant.now())));
                c.create().creatingParentsIfNeeded().forPath(p.dbId(g), "8".getBytes());
                c.create().creatingParentsIfNeeded().forPath(p.sync(g), "{}".getBytes());
            }
            for (int i = 0; i < 200; i++) {
                c.create().creatingParentsIfNeeded().forPath(p.stateDir() + "/junk" + i, new byte[1000]);
                c.create().creatingParentsIfNeeded().forPath(p.lockDir() + "/j" + i + "/deeper", new byte[1000]);
            }
            try (ClusterReader all = new ClusterReader(c, p, "all");
                    ClusterReader one = new ClusterReader(c, p, "one", java.util.Set.of("db"));
                    ClusterReader tree = new ClusterReader(c, p, "tree", java.util.Set.of("db"),
                            ClusterReader.Watches.TREE)) {
                all.start();
                one.start();
                tree.start();
                assertThat(tree.awaitInitialized(10, TimeUnit.SECONDS)).isTrue();
                assertThat(all.awaitInitialized(10, TimeUnit.SECONDS)).isTrue();
                assertThat(one.awaitInitialized(10, TimeUnit.SECONDS)).isTrue();
                assertThat(one.snapshot().groups()).containsOnlyKeys("db");
                assertThat(one.snapshot().group("db").orElseThrow().dbId()).isEqualTo("7");
                assertThat(one.snapshot().problems()).as("junk of no group is not even looked at").isEmpty();
                assertThat(all.snapshot().groups()).containsKeys("db", "db-2", "other");
                // our /state and our db-id
                assertThat(one.cachedZnodes()).isEqualTo(2);
                assertThat(all.cachedZnodes()).as("the all-groups reader keeps junk children (it reports them)")
                        .isGreaterThan(200);
                long before = one.snapshot().sequence();
                long eventsBefore = one.events();
                long treeEventsBefore = tree.events();
                for (int i = 0; i < 50; i++) {
                    c.setData().forPath(p.sync("other"), ("{\"v\":" + i + "}").getBytes());
                }
                c.setData().forPath(p.dbId("db"), "9".getBytes());
                await().atMost(Duration.ofSeconds(5)).untilAsserted(
                        () -> assertThat(one.snapshot().group("db").orElseThrow().dbId()).isEqualTo("9"));
                assertThat(one.snapshot().sequence() - before).as("other groups' changes make no snapshot")
                        .isLessThanOrEqualTo(2);
                assertThat(one.events() - eventsBefore).as("watching by group: other groups' writes never arrive")
                        .isLessThanOrEqualTo(2);
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(tree.snapshot().group("db")
                        .orElseThrow().dbId()).isEqualTo("9"));
                assertThat(tree.events() - treeEventsBefore).as("one tree cache: every write arrives and is dropped")
                        .isGreaterThanOrEqualTo(50);
                assertThat(tree.snapshot().groups()).containsOnlyKeys("db");
                assertThat(tree.cachedZnodes()).isEqualTo(2);
                // a member of our group joins and leaves: the listing of /state finds it, its removal drops it
                NodeId joining = NodeId.parse("db_10.0.0.3:5432");
                c.create().withMode(CreateMode.EPHEMERAL).forPath(p.state(joining), Znodes.encode(new NodeState(
                        joining, Role.REPLICA, NodePhase.STREAMING, "", List.of(), 1, Lsn.of(5), Lsn.of(5), Lsn.ZERO, 0,
                        "9", Tags.NONE, false, Map.of(), Map.of(), Instant.now())));
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(one.snapshot().group("db")
                        .orElseThrow().states()).containsKey(joining));
                c.delete().forPath(p.state(joining));
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(one.snapshot().group("db")
                        .orElseThrow().states()).doesNotContainKey(joining));
                assertThat(one.cachedZnodes()).isEqualTo(2);
            }
        }
    }
}
