package zgres.deadman.switchover;

import java.sql.SQLException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.Switchover;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgStatus;
import zgres.deadman.publish.StatePublisher;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * The switchover protocol (owns {@code /switchover/{group}} besides the shell that writes requests). The master:
 * marks the request as a handover, checkpoints while writes go on, asks PostgreSQL for a fast shutdown, and as soon as
 * pg_control shows the shutdown checkpoint (every backend gone: nothing can commit) records that final position and
 * deletes its lock in one transaction. The candidate: takes the lock, replays up to the final position, promotes.
 * Nothing acknowledged is lost.
 */
public final class SwitchoverCoordinator {
    private static final Logger LOG = LoggerFactory.getLogger(SwitchoverCoordinator.class);
    /** how long a candidate waits for the old master's final position */
    public static final long CATCH_UP_MS = 10_000;

    private final CuratorFramework client;
    private final ZkPaths paths;
    private final NodeId me;
    private final String name;
    private final PgNode pg;
    private final LeaseKeeper lease;
    private final Consumer<NodePhase> phase;
    private final StatePublisher publisher;

    public SwitchoverCoordinator(CuratorFramework client, ZkPaths paths, NodeId me, PgNode pg, LeaseKeeper lease,
            StatePublisher publisher, Consumer<NodePhase> phase) {
        this.publisher = publisher;
        this.client = client;
        this.paths = paths;
        this.me = me;
        this.name = me.toString();
        this.pg = pg;
        this.lease = lease;
        this.phase = phase;
    }

    /**
     * The master's side: hands the lock over to {@code to}.
     *
     * @param create the request does not exist yet (a clean stop hands over without one)
     */
    /**
     * A master whose deadman stops cleanly hands over like a switchover to the best replica, when one qualifies and
     * no request is pending: the candidate takes the lock at once (no election delay) and promotes with the final
     * position. Otherwise (said in the log) the caller stops PostgreSQL and releases the lock.
     *
     * @param stoppingToo nodes of this runtime that stop with it: never handed the lock
     */
    public void handOverOnStop(zgres.deadman.ha.Observation o, zgres.deadman.ha.Policy policy,
            java.util.Set<NodeId> stoppingToo) throws Exception {
        if (o.group().switchover().isPresent()) {
            return;
        }
        zgres.deadman.ha.Decision d = new zgres.deadman.ha.Decider(policy).onStop(o, stoppingToo);
        if (d.action() != zgres.deadman.ha.Action.HANDOVER) {
            LOG.warn("[{}] stopping: {}", me, d.reason());
            return;
        }
        LOG.warn("[{}] {}", me, d.reason());
        NodeId to = d.target().orElseThrow();
        handOver(new Switchover(Switchover.Kind.SWITCHOVER, to.toString(), java.time.Instant.now(), null, false,
                Switchover.Stage.REQUESTED, "", Lsn.ZERO), to, true);
    }

    public void handOver(Switchover s, NodeId to, boolean create) throws Exception {
        long t0 = System.nanoTime();
        // mark the request as being carried out (it can no longer be cancelled), then checkpoint while PostgreSQL
        // still takes writes: the shutdown checkpoint, inside the write outage, is then short
        Switchover marked = s.handingOver(me.toString(), to.toString(), Lsn.ZERO);
        if (create) {
            if (client.checkExists().forPath(paths.switchoverDir()) == null) {
                try {
                    client.create().creatingParentsIfNeeded().forPath(paths.switchoverDir());
                } catch (KeeperException.NodeExistsException e) {
                    // created meanwhile
                }
            }
            client.transaction().forOperations(lease.guard(), client.transactionOp().create()
                    .forPath(paths.switchover(me.group()), Znodes.encode(marked)));
        } else {
            client.transaction().forOperations(lease.guard(), client.transactionOp().setData()
                    .forPath(paths.switchover(me.group()), Znodes.encode(marked)));
        }
        try {
            pg.jdbc().execute("CHECKPOINT", 30);
        } catch (SQLException e) {
            LOG.warn("[{}] switchover: CHECKPOINT before stopping failed ({}); stopping anyway", name, e.getMessage());
        }
        long t1 = System.nanoTime();
        phase.accept(NodePhase.STOPPING);
        pg.requestStop("INT");
        // Once the shutdown checkpoint is in pg_control every backend has exited and nothing can commit any more:
        // its location is final. The WAL senders are still sending it and the postmaster exits only after they have
        // (a few hundred ms): the lock is handed over at once, the candidate waits for that position anyway.
        Optional<Lsn> early = Optional.empty();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (early.isEmpty() && pg.running() && System.nanoTime() < deadline) {
            early = pg.data().shutdownCheckpoint();
            if (early.isEmpty()) {
                Thread.sleep(5);
            }
        }
        long t2 = System.nanoTime();
        Lsn last;
        if (early.isPresent()) {
            last = early.get();
            release(s.handingOver(me.toString(), to.toString(), last), to);
            pg.awaitStop(30_000);
        } else {
            pg.awaitStop(30_000);
            last = pg.data().checkpointLsn();
            release(s.handingOver(me.toString(), to.toString(), last), to);
        }
        phase.accept(NodePhase.STOPPED);
        LOG.warn("[{}] switchover: checkpoint in {} ms, shutdown checkpoint at {} {} ms after the stop request{}, "
                + "lock handed over to {}; PostgreSQL exited {} ms after the stop request", name,
                TimeUnit.NANOSECONDS.toMillis(t1 - t0), last, TimeUnit.NANOSECONDS.toMillis(t2 - t1),
                early.isPresent() ? " (read from pg_control while the WAL senders finish)" : " (after the exit)",
                to.address(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1));
    }

    /**
     * Says this node is no longer master, records the final position and deletes the lock in one transaction (one
     * round trip in the outage; the candidate sees the old master step down with the lock, so it has no lease to wait
     * for).
     */
    private void release(Switchover handover, NodeId to) {
        try {
            java.util.List<CuratorOp> ops = new java.util.ArrayList<>();
            publisher.steppingDown().ifPresent(ops::add);
            ops.add(client.transactionOp().setData().forPath(paths.switchover(me.group()), Znodes.encode(handover)));
            lease.releaseWith("switchover to " + to.address(), ops.toArray(CuratorOp[]::new));
        } catch (Exception e) {
            LOG.warn("[{}] could not hand the lock over ({}): it goes when the session ends", name, e.toString());
        }
    }

    /**
     * The candidate's side: waits (up to {@value #CATCH_UP_MS} ms) until this standby has replayed the old master's
     * final position.
     */
    public boolean awaitFinalPosition(Lsn finalLsn) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CATCH_UP_MS);
        while (System.nanoTime() < deadline) {
            PgStatus st = pg.jdbc().probe();
            if (st.reachable() && st.replayLsn().compareTo(finalLsn) >= 0) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    /** @return {@code /switchover/{group}} as ZooKeeper has it now (empty when absent or unreadable) */
    public Optional<Switchover> read() throws Exception {
        try {
            return decode(client.getData().forPath(paths.switchover(me.group())));
        } catch (KeeperException.NoNodeException e) {
            return Optional.empty();
        }
    }

    /** @return the request in {@code data} (read by the caller from {@link #path()}); empty when unreadable */
    public Optional<Switchover> decode(byte[] data) {
        try {
            return Optional.of(Znodes.decodeSwitchover(data));
        } catch (IllegalArgumentException e) {
            LOG.warn("[{}] {} is unreadable ({}): ignoring it", name, path(), e.getMessage());
            return Optional.empty();
        }
    }

    /** @return this group's {@code /switchover} znode */
    public String path() {
        return paths.switchover(me.group());
    }

    /** Drops the request (carried out, or refused with the reason already logged). */
    public void delete() {
        try {
            client.delete().forPath(paths.switchover(me.group()));
        } catch (KeeperException.NoNodeException e) {
            // already gone
        } catch (Exception e) {
            LOG.warn("[{}] could not delete {}: {}", name, paths.switchover(me.group()), e.toString());
        }
    }
}
