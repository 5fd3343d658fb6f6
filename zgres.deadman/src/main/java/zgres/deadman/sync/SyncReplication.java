package zgres.deadman.sync;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.SyncMode;
import zgres.api.SyncState;
import zgres.deadman.ha.Observation;
import zgres.deadman.ha.SyncPlanner;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.pg.AutoConf;
import zgres.deadman.pg.PgNode;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * Synchronous replication on the master (owns {@code /sync/{group}} and PostgreSQL's
 * {@code synchronous_standby_names}): reads what PostgreSQL reports ({@code pg_stat_replication}), remembers the flush
 * position each standby was first reported sync at, and carries out the {@link SyncPlanner}'s plans in the safe order.
 * Every {@code /sync} write is a transaction checking that we still hold the lock.
 */
public final class SyncReplication {
    private static final Logger LOG = LoggerFactory.getLogger(SyncReplication.class);

    private final CuratorFramework client;
    private final ZkPaths paths;
    private final NodeId me;
    private final PgNode pg;
    private final LeaseKeeper lease;
    /** sync standby name -> the master's flush position when PostgreSQL first reported it sync */
    private final Map<String, Lsn> syncSince = new HashMap<>();

    public SyncReplication(CuratorFramework client, ZkPaths paths, NodeId me, PgNode pg, LeaseKeeper lease) {
        this.client = client;
        this.paths = paths;
        this.me = me;
        this.pg = pg;
        this.lease = lease;
    }

    /**
     * @return the master's view of its standbys, or empty when synchronous replication is off and nothing of it is
     *         left to clean up
     */
    public synchronized Optional<Observation.Replication> observe(GroupState group, SyncMode mode)
            throws SQLException {
        SyncState published = group.sync();
        if (mode == SyncMode.OFF && published.standbys().isEmpty() && syncSince.isEmpty()
                && (published.master().isEmpty() || published.master().equals(me.toString()))) {
            String current = pg.jdbc().queryOne("SHOW synchronous_standby_names", 5);
            if (current == null || current.isEmpty()) {
                return Optional.empty();
            }
        }
        Map<String, SyncPlanner.Standby> rows = new HashMap<>();
        Lsn flush = Lsn.ZERO;
        String ssn = "";
        try (Connection c = pg.jdbc().open(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT application_name, state, sync_state, "
                        + "coalesce(flush_lsn, '0/0')::text, pg_current_wal_flush_lsn()::text, "
                        + "current_setting('synchronous_standby_names') FROM pg_stat_replication "
                        + "RIGHT JOIN (SELECT 1) one ON true")) {
            while (rs.next()) {
                flush = Lsn.parse(rs.getString(5));
                ssn = rs.getString(6);
                if (rs.getString(1) != null) {
                    rows.put(rs.getString(1), new SyncPlanner.Standby(rs.getString(1), rs.getString(2),
                            rs.getString(3), Lsn.parse(rs.getString(4))));
                }
            }
        }
        List<String> current = SyncPlanner.parseNames(ssn);
        for (Map.Entry<String, SyncPlanner.Standby> e : rows.entrySet()) {
            String sync = e.getValue().syncState();
            if (current.contains(e.getKey()) && sync != null && (sync.equals("sync") || sync.equals("quorum"))) {
                syncSince.putIfAbsent(e.getKey(), flush);
            } else {
                syncSince.remove(e.getKey());
            }
        }
        syncSince.keySet().retainAll(rows.keySet());
        return Optional.of(new Observation.Replication(current, rows, syncSince));
    }

    /** One step, in this order: a smaller /sync, then PostgreSQL, then a larger /sync. */
    public void apply(SyncPlanner.Plan plan) throws Exception {
        if (plan.unpublish().isPresent()) {
            write(plan.unpublish().get());
        }
        if (plan.standbyNames().isPresent()) {
            setStandbyNames(plan.standbyNames().get());
        }
        if (plan.publish().isPresent()) {
            write(plan.publish().get());
        }
    }

    /**
     * Before a promotion: nothing this node acknowledges as master is synchronous yet, so /sync must not name the old
     * standbys; in strict mode commits wait for any standby from the first one.
     */
    public synchronized void resetForPromotion(SyncMode mode) throws Exception {
        if (mode == SyncMode.OFF) {
            return;
        }
        write(List.of());
        setStandbyNames(mode == SyncMode.STRICT ? "*" : "");
        syncSince.clear();
    }

    private void setStandbyNames(String value) throws SQLException {
        pg.jdbc().execute("ALTER SYSTEM SET synchronous_standby_names = " + AutoConf.quote(value), 10);
        pg.jdbc().execute("SELECT pg_reload_conf()", 10);
    }

    /** Writes /sync (master = this node) atomically with a check that we still hold the lock. */
    private void write(List<String> standbys) throws Exception {
        byte[] data = Znodes.encode(new SyncState(me.toString(), standbys));
        String path = paths.sync(me.group());
        if (client.checkExists().forPath(path) == null) {
            try {
                client.create().creatingParentsIfNeeded().forPath(path, data);
                return;
            } catch (KeeperException.NodeExistsException e) {
                // raced: set it below
            }
        }
        client.transaction().forOperations(lease.guard(), client.transactionOp().setData().forPath(path, data));
        LOG.debug("[{}] /sync now lists {}", me, standbys);
    }
}
