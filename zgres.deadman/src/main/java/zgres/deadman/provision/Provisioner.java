package zgres.deadman.provision;

import java.io.IOException;
import java.util.Optional;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ConnInfo;
import zgres.api.HistoryEntry;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.deadman.action.LongActions;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgStatus;
import zgres.deadman.promote.Promoter;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * Makes a data directory: {@code initdb} for the first node of a group (holding the lock, so that two first nodes
 * cannot both bootstrap), a clone ({@link Cloner}: pg_basebackup from the master by default) for the others, and a
 * new clone of a standby that cannot start. Owns {@code /static/{group}-db-id} (written once by the bootstrapping master). initdb and
 * pg_basebackup run as {@link LongActions}, off the loop.
 */
public final class Provisioner {
    private static final Logger LOG = LoggerFactory.getLogger(Provisioner.class);

    private final CuratorFramework client;
    private final ZkPaths paths;
    private final NodeId me;
    private final String name;
    private final PgNode pg;
    private final LeaseKeeper lease;
    private final LongActions actions;
    private final Promoter promoter;
    private final Cloner cloner;
    private final Consumer<NodePhase> phase;

    public Provisioner(CuratorFramework client, ZkPaths paths, NodeId me, PgNode pg, LeaseKeeper lease,
            LongActions actions, Promoter promoter, Cloner cloner, Consumer<NodePhase> phase) {
        this.client = client;
        this.paths = paths;
        this.me = me;
        this.name = me.toString();
        this.pg = pg;
        this.lease = lease;
        this.actions = actions;
        this.promoter = promoter;
        this.cloner = cloner;
        this.phase = phase;
    }

    /**
     * Takes the lock (unless held) and runs initdb in the background; the loop then starts PostgreSQL as master and
     * registers the group ({@link #register}).
     */
    public void bootstrap() throws Exception {
        if (lease.current().isEmpty() && !lease.tryTake()) {
            return;
        }
        phase.accept(NodePhase.INITDB);
        actions.start("initdb", () -> {
            try {
                pg.data().initdb();
            } catch (Exception e) {
                LOG.error("[{}] bootstrap failed: {}; releasing the lock", name, e.getMessage());
                pg.fence("bootstrap failed");
                lease.release("bootstrap failed");
                pg.moveAside("initdb failed");
                phase.accept(NodePhase.STOPPED);
                throw e;
            }
        });
    }

    /**
     * A freshly bootstrapped master: creates the replication role, publishes the group's db-id (once) and timeline,
     * and records the bootstrap in the history when this call created the db-id.
     */
    public void register() throws Exception {
        pg.createReplicationRole();
        PgStatus st = pg.jdbc().probe();
        if (!st.reachable()) {
            throw new IOException("PostgreSQL does not answer: " + st.error());
        }
        // the timeline first: a group whose db-id can be read is registered, timeline included
        promoter.bumpTimeline(Math.max(1, st.timeline()));
        boolean created = createIfAbsent(paths.dbId(me.group()), Znodes.encodeDbId(st.systemId()));
        if (created) {
            promoter.history(st.timeline(), st.writeLsn(), "", HistoryEntry.Cause.BOOTSTRAP);
            LOG.warn("[{}] bootstrapped group {}: db-id {}, timeline {}", name, me.group(), st.systemId(),
                    st.timeline());
        }
    }

    /** @return true when this call created the znode */
    private boolean createIfAbsent(String path, byte[] value) throws Exception {
        try {
            client.create().creatingParentsIfNeeded().forPath(path, value);
            return true;
        } catch (KeeperException.NodeExistsException e) {
            String existing = Znodes.decodeDbId(client.getData().forPath(path));
            if (!existing.equals(Znodes.decodeDbId(value))) {
                LOG.warn("[{}] {} already holds '{}', not '{}'", name, path, existing, Znodes.decodeDbId(value));
            }
            return false;
        }
    }

    /**
     * Builds the replica in the background with the configured clone methods ({@link Cloner}: pg_basebackup from the
     * master by default); the loop starts the standby afterwards.
     */
    public void clone(ConnInfo from, String dbId) {
        phase.accept(NodePhase.BASEBACKUP);
        actions.start("clone (master " + from.address() + ")", () -> {
            try {
                cloner.clone(Optional.of(from), dbId);
                pg.configureStandby(Optional.of(from));
            } catch (Exception e) {
                LOG.error("[{}] {}", name, e.getMessage());
                phase.accept(NodePhase.STOPPED);
                throw e;
            }
            phase.accept(NodePhase.STARTING);
        });
    }

    /**
     * A standby that cannot start or rewind: stopped and moved aside (never deleted), so that the loop clones it
     * again. When it cannot be moved (too many copies kept, too little space) nothing changes and the error says why.
     */
    public void reclone(String why, ConnInfo from, String dbId) throws IOException {
        // the source first: data is never moved away for a clone that cannot happen
        pg.checkCloneSource(from, dbId);
        pg.stop("INT", 30_000);
        pg.moveAside(why);
    }
}
