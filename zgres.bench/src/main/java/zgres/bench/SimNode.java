package zgres.bench;

import java.io.Closeable;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;

import zgres.api.ConnInfo;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Tags;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.publish.StatePublisher;
import zgres.testkit.Identities;
import zgres.testkit.Profile;
import zgres.zookeeper.ZkPaths;

/**
 * A node of a simulated group for {@code ./zgres bench scale}: its own ZooKeeper session (the node identity, the
 * profile's session timeout), the deadman's real {@link StatePublisher} and {@link LeaseKeeper} (taking, renewing
 * every T/6 and releasing the lock as a deadman does), and no PostgreSQL: the dead man's switch has nothing to fence
 * and the positions it publishes are made up ({@link #cycle} moves them when told to).
 */
final class SimNode implements Closeable {
    final NodeId id;
    private final CuratorFramework client;
    private final StatePublisher publisher;
    private final LeaseKeeper lease;
    private final Profile profile;
    private volatile boolean master;
    private volatile String upstream = "";
    private long lsn = 0x3000000L;

    SimNode(Identities ids, String connect, ZkPaths paths, NodeId id, Profile profile) {
        this.id = id;
        this.profile = profile;
        this.client = CuratorFrameworkFactory.builder().connectString(connect).sessionTimeoutMs(profile
                .sessionTimeoutMs()).connectionTimeoutMs(Math.max(1000, profile.sessionTimeoutMs() / 2))
                .retryPolicy(new ExponentialBackoffRetry(50, 5, 1000)).authorization("digest", ids.auth(
                        Identities.Role.NODE)).aclProvider(ids.acls(paths)).ensembleTracker(false).build();
        this.publisher = new StatePublisher(client, paths, id);
        this.lease = new LeaseKeeper(client, paths, id, profile.sessionTimeoutMs(), 0,
                new LeaseKeeper.DeadMansSwitch() {
                    @Override
                    public void keepalive(long deadlineNanos) {
                        // no PostgreSQL to keep alive
                    }

                    @Override
                    public void fence(String reason) {
                        master = false;
                    }
                }, () -> { });
    }

    void start() throws InterruptedException {
        client.start();
        if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException(id + ": no ZooKeeper connection within 30 s");
        }
        lease.tickSource(() -> 100);
        lease.start();
    }

    /** Takes the lock (the group's lock must be free). */
    boolean takeLock() throws Exception {
        cycle(false); // as a deadman: the lock is taken only by the session publishing the node's /state
        master = lease.tryTake();
        if (master) {
            upstream = "";
            cycle(false);
        }
        return master;
    }

    /** Gives the lock up as a deadman stepping down does: its state says so in the same transaction. */
    void releaseLock() throws Exception {
        Optional<org.apache.curator.framework.api.transaction.CuratorOp> down = publisher.steppingDown();
        if (down.isPresent()) {
            lease.releaseWith("scale benchmark handover", down.get());
        } else {
            lease.release("scale benchmark handover");
        }
        master = false;
    }

    boolean master() {
        return master;
    }

    void follow(NodeId m) {
        upstream = m.address();
    }

    /** One loop of the deadman: publishes the node's state (written when it changed, or every 30 s). */
    synchronized void cycle(boolean moveLsn) {
        if (moveLsn) {
            lsn += 8192;
        }
        NodeState s = new NodeState(id, master ? Role.MASTER : Role.REPLICA, master ? NodePhase.RUNNING
                : NodePhase.STREAMING, master ? "" : upstream, List.of(), 1, Lsn.of(lsn), Lsn.of(lsn), Lsn.of(lsn), 0,
                "7000000000000000001", Tags.NONE, false, Map.of(), Map.of(), Instant.now());
        publisher.publish(s, Optional.of(new ConnInfo(id.host(), id.port(), "postgres", "")), profile
                .stateIntervalMs(), false);
    }

    long sessionId() {
        return lease.sessionId();
    }

    @Override
    public void close() {
        lease.close();
        publisher.close();
        client.close();
    }
}
