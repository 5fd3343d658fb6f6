package zgres.deadman.ha;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.api.Tags;

/**
 * Everything one cycle of the deadman decides on, taken at one moment and never changed afterwards.
 *
 * @param me this node
 * @param tags this node's tags
 * @param group the group as read from ZooKeeper
 * @param lock who holds the lock
 * @param connected our ZooKeeper session is connected (and the tree has been read)
 * @param leaseValid we hold the lock and the lease confirmed by ZooKeeper has not run out
 * @param local the local PostgreSQL
 * @param lastMasterLsn the furthest position any master of the group published while we watched
 * @param lockFreeForMs how long the lock has been free (0 when held)
 * @param now wall-clock time (scheduled switchovers)
 * @param self what the deadman knows about itself: its problems, a long action in progress, recent outcomes
 * @param replication the master's view of its standbys (pg_stat_replication), when synchronous replication matters
 * @param fresh the peers' states and the request read again from ZooKeeper now (only while holding the lock as a
 *        standby, about to promote: the cache may be a little behind)
 * @param formerMaster while the lock is free: the node that held it last, when it still publishes itself as master
 *        with the session that held the lock (its lease may not have run out)
 */
public record Observation(NodeId me, Tags tags, GroupState group, LockOwner lock, boolean connected,
        boolean leaseValid, Local local, Lsn lastMasterLsn, long lockFreeForMs, Instant now, Self self,
        Optional<Replication> replication, Optional<Fresh> fresh, Optional<FormerMaster> formerMaster) {

    /**
     * The last holder of a lock that is now free, still claiming to be master with the session that held the lock.
     *
     * @param leaseMs the longest lease a master of the group can hold: 2T/3 after its last renewal, which came before
     *        its lock went
     */
    public record FormerMaster(NodeId id, long leaseMs) {}

    public Observation(NodeId me, Tags tags, GroupState group, LockOwner lock, boolean connected,
            boolean leaseValid, Local local, Lsn lastMasterLsn, long lockFreeForMs, Instant now, Self self,
            Optional<Replication> replication, Optional<Fresh> fresh) {
        this(me, tags, group, lock, connected, leaseValid, local, lastMasterLsn, lockFreeForMs, now, self,
                replication, fresh, Optional.empty());
    }

    /**
     * The deadman about itself.
     *
     * @param problems the problems it published last (health vetoes, recent failures): the election checks itself
     *        with them
     * @param busy a long action (initdb, pg_basebackup, pg_rewind) running in the background
     * @param rewind the last pg_rewind that did not work
     * @param failedHandover the final position of a handover it did not receive in time
     */
    public record Self(List<String> problems, Optional<LongAction> busy, Optional<RewindOutcome> rewind,
            Optional<Lsn> failedHandover) {
        public static final Self NONE = new Self(List.of(), Optional.empty(), Optional.empty(), Optional.empty());

        public Self {
            problems = List.copyOf(problems);
        }
    }

    /** A long action in progress. */
    public record LongAction(String what, long forMs) {}

    /** A pg_rewind that did not work, and from which master. */
    public record RewindOutcome(NodeId source, boolean unreachable, String message, long ageMs) {}

    /**
     * The master's view of synchronous replication.
     *
     * @param standbyNames the names in synchronous_standby_names now ("*" for any)
     * @param rows pg_stat_replication by application_name
     * @param syncSince for each standby PostgreSQL reports sync: the master's flush position when it first did
     */
    public record Replication(List<String> standbyNames, Map<String, SyncPlanner.Standby> rows,
            Map<String, Lsn> syncSince) {
        public Replication {
            standbyNames = List.copyOf(standbyNames);
            rows = Map.copyOf(rows);
            syncSince = Map.copyOf(syncSince);
        }
    }

    /** What a node about to promote reads again from ZooKeeper itself. */
    public record Fresh(GroupState group, Optional<Switchover> request) {}

    public Observation {
        self = self == null ? Self.NONE : self;
        replication = replication == null ? Optional.empty() : replication;
        fresh = fresh == null ? Optional.empty() : fresh;
        formerMaster = formerMaster == null ? Optional.empty() : formerMaster;
    }

    public Observation(NodeId me, Tags tags, GroupState group, LockOwner lock, boolean connected, boolean leaseValid,
            Local local, Lsn lastMasterLsn, long lockFreeForMs, Instant now) {
        this(me, tags, group, lock, connected, leaseValid, local, lastMasterLsn, lockFreeForMs, now, Self.NONE,
                Optional.empty(), Optional.empty());
    }

    public Observation(NodeId me, Tags tags, GroupState group, LockOwner lock, boolean connected, boolean leaseValid,
            Local local, Lsn lastMasterLsn, long lockFreeForMs) {
        this(me, tags, group, lock, connected, leaseValid, local, lastMasterLsn, lockFreeForMs, Instant.now());
    }

    /**
     * The group with this node as it is now (its published state may be a cycle old): a standby with its fresh
     * positions, its tags and the problems it published; healthy (with a /conn) when it has none.
     */
    public GroupState withFreshSelf(GroupState g) {
        Local l = local;
        NodeState published = g.state(me).orElse(null);
        NodeState fresh = new NodeState(me, Role.REPLICA, l.status().streaming() ? NodePhase.STREAMING
                : NodePhase.RUNNING, l.configuredUpstream(), self.problems(), l.timeline(), l.status().receiveLsn(),
                l.status().replayLsn(), Lsn.ZERO, l.status().lagBytes(), l.systemId(), tags, group.paused(),
                published == null ? Map.of() : published.plugins(), Map.of(), now);
        Optional<ConnInfo> conn = self.problems().isEmpty() ? Optional.of(new ConnInfo(me.host(),
                me.port(), "postgres", tags.zone())) : Optional.empty();
        return g.withNode(fresh, conn);
    }

    /** The group as its master sees it: the lock is ours even if the snapshot has not caught up yet. */
    public GroupState groupAsMaster() {
        return group.master().filter(me::equals).isPresent() ? group : group.withMaster(me);
    }

    /** @return the master's timeline as it publishes it, else the group's */
    public int masterTimeline() {
        return Math.max(group.master().flatMap(group::state).map(NodeState::timeline).orElse(0),
                (int) group.timeline());
    }
}
