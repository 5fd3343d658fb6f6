package zgres.deadman.promote;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.HistoryEntry;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgStatus;
import zgres.deadman.pg.Supervisor;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * Promotes the local standby while this node holds the lock, and records it: owns {@code /static/{group}-timeline}
 * (only increases) and {@code /history/{group}}. The dead man's switch is armed before PostgreSQL can accept a
 * single write.
 */
public final class Promoter {
    private static final Logger LOG = LoggerFactory.getLogger(Promoter.class);

    /** What a promotion is for, as the history records it. */
    public record Promotion(HistoryEntry.Cause cause, String oldMaster) {}

    private final CuratorFramework client;
    private final ZkPaths paths;
    private final NodeId me;
    private final String name;
    private final PgNode pg;
    private final LeaseKeeper lease;
    private final Consumer<NodePhase> phase;

    public Promoter(CuratorFramework client, ZkPaths paths, NodeId me, PgNode pg, LeaseKeeper lease,
            Consumer<NodePhase> phase) {
        this.client = client;
        this.paths = paths;
        this.me = me;
        this.name = me.toString();
        this.pg = pg;
        this.lease = lease;
        this.phase = phase;
    }

    /**
     * {@code pg_promote()} under a valid lease: arms the switch, promotes, bumps the timeline, appends to the
     * history; the checkpoint that lets others rewind from us runs in the background.
     *
     * @param beforeArming runs after the lease check, before the switch is armed (synchronous mode empties /sync)
     * @return false when there is no valid lease (nothing was done)
     */
    public boolean promote(Promotion what, ThrowingRunnable beforeArming) throws Exception {
        long entered = System.nanoTime();
        if (!lease.awaitConfirmed()) {
            LOG.warn("[{}] not promoting: no valid lease", name);
            return false;
        }
        Supervisor sup = pg.supervisor().orElseThrow(() -> new IllegalStateException("PostgreSQL is not running"));
        beforeArming.run();
        // arm the dead man's switch before PostgreSQL can accept a single write
        sup.keepalive(lease.current().orElseThrow(() -> new IllegalStateException("the lock is gone")).endNanos());
        phase.accept(NodePhase.PROMOTING);
        Lsn before = pg.jdbc().probe().bestLsn();
        long t0 = System.nanoTime();
        pg.promote();
        PgStatus st = pg.jdbc().probe();
        if (!st.reachable() || st.inRecovery()) {
            throw new IOException("promotion did not finish: " + st.error());
        }
        LOG.warn("[{}] promoted in {} ms (after {} ms of checks): timeline {}, LSN {} (received {})", name,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), TimeUnit.NANOSECONDS.toMillis(t0 - entered),
                st.timeline(), st.writeLsn(), before);
        onPromoted.run();
        checkpointInBackground();
        bumpTimeline(st.timeline());
        history(st.timeline(), before, what.oldMaster(), what.cause());
        phase.accept(NodePhase.RUNNING);
        return true;
    }

    /** A step that may throw. */
    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Replicas that rewind read our timeline from pg_control: checkpoint now rather than when PostgreSQL gets to it. */
    private void checkpointInBackground() {
        Thread cp = new Thread(() -> {
            try (Connection c = pg.jdbc().open(); java.sql.Statement s = c.createStatement()) {
                s.execute("CHECKPOINT");
            } catch (SQLException e) {
                LOG.debug("[{}] checkpoint after promotion: {}", name, e.getMessage());
            }
        }, "zgres-checkpoint-" + me.port());
        cp.setDaemon(true);
        cp.start();
    }

    /** Raises {@code /static/{group}-timeline} to {@code timeline} (never lowers it). */
    public void bumpTimeline(int timeline) throws Exception {
        String path = paths.timeline(me.group());
        for (int i = 0; i < 10; i++) {
            Stat stat = new Stat();
            try {
                long current = Znodes.decodeTimeline(client.getData().storingStatIn(stat).forPath(path));
                if (current >= timeline) {
                    return;
                }
                client.setData().withVersion(stat.getVersion()).forPath(path, Znodes.encodeTimeline(timeline));
                return;
            } catch (KeeperException.NoNodeException e) {
                try {
                    client.create().creatingParentsIfNeeded().forPath(path, Znodes.encodeTimeline(timeline));
                    return;
                } catch (KeeperException.NodeExistsException raced) {
                    // created meanwhile: read again
                }
            } catch (KeeperException.BadVersionException e) {
                // raced: read again
            } catch (IllegalArgumentException e) {
                LOG.warn("[{}] {} was unreadable ({}): overwriting with {}", name, path, e.getMessage(), timeline);
                client.setData().forPath(path, Znodes.encodeTimeline(timeline));
                return;
            }
        }
    }

    private volatile java.util.function.IntSupplier historyLimit = () -> 1000;

    /**
     * Deletes the oldest entries of {@code dir} beyond {@code limit} (entries are sequential znodes: {@code
     * h-<10-digit sequence>}, so their names sort oldest first).
     *
     * @return how many were deleted
     */
    static int prune(CuratorFramework client, String dir, int limit) throws Exception {
        java.util.List<String> entries = new java.util.ArrayList<>(client.getChildren().forPath(dir));
        int keep = Math.max(1, limit);
        if (entries.size() <= keep) {
            return 0;
        }
        java.util.Collections.sort(entries);
        for (String old : entries.subList(0, entries.size() - keep)) {
            client.delete().quietly().forPath(dir + "/" + old);
        }
        return entries.size() - keep;
    }

    /** How many entries {@code /history/{group}} keeps (the live {@code history_limit}). */
    private volatile Runnable onPromoted = () -> { };

    /** Called after each promotion (metrics). */
    public void onPromoted(Runnable r) {
        onPromoted = r;
    }

    public void historyLimit(java.util.function.IntSupplier limit) {
        this.historyLimit = limit;
    }

    /**
     * Appends a promotion to {@code /history/{group}} and prunes the oldest entries beyond {@code history_limit}
     * (best effort: a failure is logged).
     */
    public void history(int timeline, Lsn lsn, String oldMaster, HistoryEntry.Cause cause) {
        String dir = paths.history(me.group());
        try {
            client.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(
                    dir + "/h-", Znodes.encode(new HistoryEntry(timeline, lsn, oldMaster, me.toString(), cause,
                            Instant.now())));
            int pruned = prune(client, dir, historyLimit.getAsInt());
            if (pruned > 0) {
                LOG.info("[{}] pruned {} history entries (history_limit {})", name, pruned, historyLimit.getAsInt());
            }
        } catch (Exception e) {
            LOG.warn("[{}] could not record history: {}", name, e.toString());
        }
    }
}
