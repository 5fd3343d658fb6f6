package zgres.zookeeper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import zgres.api.GroupState;
import zgres.api.MasterLock;
import zgres.testkit.FaultProxy;
import zgres.testkit.ZkEnsemble;

/**
 * The cluster cache after a connection interruption (lives next to {@link FaultProxy}, which cuts the connection).
 * A lock deleted and re-created by another node while we were cut off comes back with the same znode version; the
 * snapshot must still show the new owner once we are reconnected (it used to keep the old one for ever).
 */
class ClusterReaderReconnectTest {

    /** Both ways of watching: one tree cache (the sync daemon's), watches of the group only (a deadman's). */
    @ParameterizedTest
    @EnumSource(ClusterReader.Watches.class)
    void lockReplacedWhileDisconnectedIsSeenAfterReconnecting(ClusterReader.Watches watches) throws Exception {
        ZkPaths p = new ZkPaths("/zgres");
        try (ZkEnsemble zk = new ZkEnsemble(1, 100, false);
                FaultProxy proxy = new FaultProxy("127.0.0.1", zk.clientPorts().get(0));
                CuratorFramework reading = client(proxy.address(), 10_000);
                CuratorFramework oldOwner = client(zk.connectString(), 3_000);
                CuratorFramework newOwner = client(zk.connectString(), 3_000);
                ClusterReader r = new ClusterReader(reading, p, "test", java.util.Set.of("g"), watches)) {
            // a lock is a deadman's when its session publishes the node's /state
            publishState(oldOwner, p, "g_10.0.0.1:5432");
            publishState(newOwner, p, "g_10.0.0.2:5432");
            oldOwner.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.lock("g"),
                    "10.0.0.1:5432".getBytes(StandardCharsets.UTF_8));
            r.start();
            assertTrue(r.awaitInitialized(10, TimeUnit.SECONDS));
            assertEquals("10.0.0.1", await(r, "10.0.0.1").get().holder().host());

            proxy.mode(FaultProxy.Mode.RESET); // the connection drops; the session (10 s) outlives the outage
            oldOwner.close();
            newOwner.create().withMode(CreateMode.EPHEMERAL).forPath(p.lock("g"),
                    "10.0.0.2:5432".getBytes(StandardCharsets.UTF_8));
            Thread.sleep(2_000);
            proxy.mode(FaultProxy.Mode.PASS);

            assertEquals("10.0.0.2", await(r, "10.0.0.2").map(l -> l.holder().host()).orElse("(still the old lock)"));
        }
    }

    private static Optional<MasterLock> await(ClusterReader r, String host) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        Optional<MasterLock> lock = Optional.empty();
        while (System.nanoTime() < deadline) {
            lock = r.snapshot().group("g").flatMap(GroupState::lock);
            if (lock.isPresent() && lock.get().holder().host().equals(host)) {
                return lock;
            }
            Thread.sleep(100);
        }
        return lock;
    }

    private static void publishState(CuratorFramework c, ZkPaths p, String node) throws Exception {
        zgres.api.NodeId id = zgres.api.NodeId.parse(node);
        c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(p.state(id),
                zgres.zookeeper.Znodes.encode(new zgres.api.NodeState(id, zgres.api.Role.REPLICA,
                        zgres.api.NodePhase.STREAMING, "", java.util.List.of(), 1, zgres.api.Lsn.ZERO,
                        zgres.api.Lsn.ZERO, zgres.api.Lsn.ZERO, 0, "", zgres.api.Tags.NONE, false,
                        java.util.Map.of(), java.util.Map.of(), java.time.Instant.now())));
    }

    private static CuratorFramework client(String connect, int sessionMs) {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(connect).sessionTimeoutMs(sessionMs)
                .connectionTimeoutMs(5_000).retryPolicy(new ExponentialBackoffRetry(50, 4, 500)).ensembleTracker(false)
                .build();
        c.start();
        return c;
    }
}
