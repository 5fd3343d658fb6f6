package zgres.deadman;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.BackgroundCallback;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.MasterLock;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.deadman.ha.Local;
import zgres.deadman.ha.LockOwner;
import zgres.deadman.ha.Observation;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.pg.ControlData;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgStatus;
import zgres.deadman.switchover.SwitchoverCoordinator;
import zgres.deadman.lease.Failsafe;
import zgres.deadman.sync.SyncReplication;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * Takes the {@link Observation} a cycle decides on: the group from the shared cache, who holds the lock, the local
 * PostgreSQL, and what the deadman remembers between cycles (how long the lock has been free, the last master and its
 * furthest position, how long PostgreSQL has been down or not streaming, failed starts). Holding the lock as a
 * standby it reads the peers and the request again from ZooKeeper; as master, what PostgreSQL says of its standbys.
 * Only the loop calls {@link #observe}.
 */
final class Observer {
    private static final Logger LOG = LoggerFactory.getLogger(Observer.class);
    /** a standby that has not accepted connections this long after its start counts as a failed start */
    static final long START_TIMEOUT_S = 120;
    /** how long a promotion waits for the fresh reads before it falls back to the cache */
    static final long FRESH_TIMEOUT_MS = 2000;

    private final NodeId me;
    private final String name;
    private final ClusterCache cache;
    private final CuratorFramework client;
    private final ZkPaths paths;
    private final LeaseKeeper lease;
    private final PgNode pg;
    private final SyncReplication sync;
    private final SwitchoverCoordinator switchovers;

    private long lockFreeSince;
    /** locks (by creating transaction) whose holder's server is not this group's ({@link #foreignMaster}) */
    private final java.util.Set<Long> foreignLocks = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** how long a lock owned by a session that publishes no node state is left alone before it counts as free */
    static final long FOREIGN_LOCK_GRACE_MS = 1000;
    private volatile NodeId lastMaster;
    private volatile Lsn lastMasterLsn = Lsn.ZERO;
    /** the last node seen holding the lock (by its session), until it is seen to have stepped down */
    private volatile NodeId formerHolder;
    private volatile long formerSession;
    private long downSince;
    private long notStreamingSince;
    private int lastReceivedTimeline;
    private int failedStarts;
    /** when PostgreSQL was last started (by the loop, or by a long action: pg_rewind) */
    private volatile long startedAt;
    private volatile Observation.RewindOutcome rewind;
    private volatile long rewindAt;
    private volatile Lsn failedHandover;

    Observer(NodeId me, ClusterCache cache, CuratorFramework client, ZkPaths paths, LeaseKeeper lease, PgNode pg,
            SyncReplication sync, SwitchoverCoordinator switchovers) {
        this.me = me;
        this.name = me.toString();
        this.cache = cache;
        this.client = client;
        this.paths = paths;
        this.lease = lease;
        this.pg = pg;
        this.sync = sync;
        this.switchovers = switchovers;
    }

    /**
     * @param connected our ZooKeeper session is connected
     * @param self the deadman's own facts (its problems, a long action in progress); outcomes are added here
     */
    Observation observe(DeadmanSettings live, boolean connected, Observation.Self self) throws IOException {
        long now = System.nanoTime();
        ClusterSnapshot snap = cache.snapshot();
        GroupState group = snap.group(me.group()).orElse(GroupState.empty(me.group()));
        Optional<MasterLock> held = group.lock();
        if (held.isPresent() && !held.get().holderUnknown() && foreignLocks.contains(held.get().created())) {
            // its holder's server turned out not to be this group's: nobody's lock, as if no deadman owned it
            group = new GroupState(group.name(), Optional.empty(), group.states(), group.conns(), group.dbId(),
                    group.timeline(), group.sync(), group.paused(), group.switchover(), Optional.of(new MasterLock(
                            MasterLock.unknownHolder(group.name()), held.get().session(), held.get().created())));
        }
        LockOwner lock = lease.owner(group);
        if (lock == LockOwner.NONE) {
            if (lockFreeSince == 0) {
                lockFreeSince = now;
            }
        } else {
            lockFreeSince = 0;
        }
        if (lock == LockOwner.MINE) {
            formerHolder = null;
        } else if (lock == LockOwner.OTHER) {
            group.lock().ifPresent(l -> {
                formerHolder = l.holder();
                formerSession = l.session();
            });
        }
        Optional<Observation.FormerMaster> former = lock == LockOwner.NONE ? formerMaster(group, live)
                : Optional.empty();
        group.masterState().ifPresent(s -> {
            if (!s.id().equals(lastMaster)) {
                lastMaster = s.id();
                lastMasterLsn = Lsn.ZERO;
            }
            lastMasterLsn = Lsn.max(lastMasterLsn, s.bestLsn());
        });
        Local local = observeLocal(lock, now);
        if (local.running()) {
            rewind = null;
        }
        Optional<Observation.Replication> replication = Optional.empty();
        if (lock == LockOwner.MINE && local.primary()) {
            try {
                replication = sync.observe(group, live.policy().syncMode());
            } catch (java.sql.SQLException e) {
                LOG.debug("[{}] pg_stat_replication: {}", name, e.getMessage());
            }
        }
        // a handover whose final position the cache already shows needs nothing fresher: the candidate promotes once
        // it has replayed that position, whatever its peers say (one round trip less on the way to a master)
        boolean handoverKnown = group.switchover().filter(sw -> sw.handover() && sw.candidate().equals(me.toString())
                && !sw.finalLsn().equals(Lsn.ZERO)).isPresent();
        Optional<Observation.Fresh> fresh = lock == LockOwner.MINE && local.standby() && !handoverKnown ? fresh(group)
                : Optional.empty();
        Observation.RewindOutcome r = rewind;
        Observation.Self withOutcomes = new Observation.Self(self.problems(), self.busy(), r == null ? Optional.empty()
                : Optional.of(new Observation.RewindOutcome(r.source(), r.unreachable(), r.message(),
                        TimeUnit.NANOSECONDS.toMillis(now - rewindAt))), Optional.ofNullable(failedHandover));
        long freeForMs = lockFreeSince == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - lockFreeSince);
        if (group.lock().filter(MasterLock::holderUnknown).isPresent()) {
            // a lock no deadman's session owns counts as free only after a grace (a deadman that just took it is
            // seen publishing its state within a cycle)
            freeForMs = Math.max(0, freeForMs - FOREIGN_LOCK_GRACE_MS);
        }
        return new Observation(me, live.tags(), group, lock, connected && cache.initialized(), lease.valid(), local,
                lastMasterLsn, freeForMs,
                Instant.now(), withOutcomes, replication, fresh, former);
    }

    /**
     * The lock is free but the node that held it last may still be a writable master: someone deleted its lock while
     * its session lives on, and its lease (up to 2T/3 after its last renewal) runs until its deadman notices and
     * fences, or its supervisor does. It counts while it still publishes itself as master with the session that held
     * the lock (checked on the server: a /state re-created by a new session means the old one expired, and with it
     * the lease). A master giving its lock away voluntarily publishes that it stepped down first (or in the same
     * transaction), and a dead one's session takes its /state with its lock: neither makes anyone wait.
     */
    private Optional<Observation.FormerMaster> formerMaster(GroupState group, DeadmanSettings live) {
        NodeId former = formerHolder;
        if (former == null || former.equals(me)) {
            return Optional.empty();
        }
        boolean claims = group.state(former).filter(s -> s.role() == zgres.api.Role.MASTER).isPresent();
        if (claims) {
            // read it on the server: the cache learns of the deleted lock before it has fetched the state written
            // in the same transaction (a handover's stepping down)
            try {
                org.apache.zookeeper.data.Stat stat = new org.apache.zookeeper.data.Stat();
                byte[] data = client.getData().storingStatIn(stat).forPath(paths.state(former));
                claims = stat.getEphemeralOwner() == formerSession
                        && Znodes.decodeState(former, data).role() == zgres.api.Role.MASTER;
            } catch (KeeperException.NoNodeException e) {
                claims = false; // its session is gone, and its lease with it
            } catch (IllegalArgumentException e) {
                LOG.debug("[{}] unreadable {}: {}", name, paths.state(former), e.getMessage()); // may still serve
            } catch (Exception e) {
                // cannot tell: assume it may still serve (the wait is bounded by its lease)
                LOG.debug("[{}] reading {}: {}", name, paths.state(former), e.toString());
            }
        }
        if (!claims) {
            formerHolder = null;
            return Optional.empty();
        }
        return Optional.of(new Observation.FormerMaster(former, live.sessionTimeoutMs() * 2 / 3));
    }

    /**
     * About to promote: the peers' states and the request as ZooKeeper has them now (the cache may not have seen the
     * old master's final position or a peer's last position yet). The reads go out together after a sync, so this
     * costs one round trip, not one per peer.
     */
    private Optional<Observation.Fresh> fresh(GroupState group) {
        try {
            client.sync().forPath(paths.stateDir());
            List<NodeId> peers = group.states().keySet().stream().filter(p -> !p.equals(me)).toList();
            Map<String, CuratorEvent> answers = new ConcurrentHashMap<>();
            CountDownLatch done = new CountDownLatch(peers.size() + 1);
            BackgroundCallback collect = (c, event) -> {
                answers.put(event.getPath(), event);
                done.countDown();
            };
            for (NodeId peer : peers) {
                client.getData().inBackground(collect).forPath(paths.state(peer));
            }
            client.getData().inBackground(collect).forPath(switchovers.path());
            if (!done.await(FRESH_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                throw new IOException("no answer within " + FRESH_TIMEOUT_MS + " ms");
            }
            TreeMap<NodeId, NodeState> states = new TreeMap<>(group.states());
            for (NodeId peer : peers) {
                byte[] data = answer(answers.get(paths.state(peer)));
                try {
                    if (data == null) {
                        states.remove(peer);
                    } else {
                        states.put(peer, Znodes.decodeState(peer, data));
                    }
                } catch (IllegalArgumentException e) {
                    LOG.debug("[{}] unreadable state of {}: {}", name, peer, e.getMessage());
                    states.remove(peer);
                }
            }
            byte[] request = answer(answers.get(switchovers.path()));
            return Optional.of(new Observation.Fresh(group.withStates(states), request == null ? Optional.empty()
                    : switchovers.decode(request)));
        } catch (Exception e) {
            LOG.warn("[{}] could not read the peers again before promoting ({}): using the cache", name,
                    e.toString());
            return Optional.empty();
        }
    }

    /** @return the data read, or null when the znode does not exist */
    private static byte[] answer(CuratorEvent e) throws KeeperException {
        KeeperException.Code code = KeeperException.Code.get(e.getResultCode());
        if (code == KeeperException.Code.NONODE) {
            return null;
        }
        if (code != KeeperException.Code.OK) {
            throw KeeperException.create(code, e.getPath());
        }
        return e.getData();
    }

    private Local observeLocal(LockOwner lock, long now) throws IOException {
        pg.closeSupervisor();
        Local.DataDir dir;
        if (pg.data().empty()) {
            dir = Local.DataDir.EMPTY;
        } else if (pg.data().isCluster()) {
            dir = Local.DataDir.CLUSTER;
        } else {
            dir = Local.DataDir.GARBAGE;
        }
        boolean running = pg.running();
        PgStatus status = running ? pg.jdbc().probe() : PgStatus.unreachable("PostgreSQL is not running");
        if (status.reachable() && status.inRecovery()) {
            if (status.streaming()) {
                lastReceivedTimeline = status.timeline();
            } else {
                // not streaming: pg_control's timelines can be far behind on a quiet standby; the last timeline it
                // received (seen while streaming, or in its WAL segment names) is the one it is on
                status = status.withTimeline(Math.max(status.timeline(), Math.max(lastReceivedTimeline,
                        pg.data().newestSegmentTimeline())));
            }
        }
        Optional<ControlData> control = Optional.empty();
        if (!running && dir == Local.DataDir.CLUSTER) {
            try {
                control = Optional.of(pg.data().controlData());
            } catch (IOException e) {
                LOG.warn("[{}] pg_controldata failed: {}", name, e.getMessage());
            }
        }
        if (!running && lock == LockOwner.MINE) {
            if (downSince == 0) {
                downSince = now;
            }
        } else {
            downSince = 0;
        }
        String upstream = "";
        if (status.reachable() && status.inRecovery()) {
            upstream = pg.configuredUpstream();
            if (status.streaming()) {
                notStreamingSince = 0;
            } else if (notStreamingSince == 0) {
                notStreamingSince = now;
            }
        } else {
            notStreamingSince = 0;
        }
        if (status.reachable()) {
            failedStarts = 0;
            startedAt = 0;
        } else if (startedAt != 0 && (!running || now - startedAt > TimeUnit.SECONDS.toNanos(START_TIMEOUT_S))) {
            failedStarts++;
            startedAt = 0;
            LOG.warn("[{}] PostgreSQL {} after it was started ({} failed start(s) in a row; see its log)", name,
                    running ? "has not accepted connections for " + START_TIMEOUT_S + " s" : "exited", failedStarts);
        }
        Failsafe fs = failsafe;
        long failsafeWait = fs != null && status.reachable() && status.inRecovery() ? fs.replicaWaitMs() : 0;
        return new Local(dir, running, status, control, pg.data().hasStandbySignal(), upstream,
                downSince == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - downSince),
                notStreamingSince == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - notStreamingSince), failedStarts,
                failsafeWait, fs != null && fs.holding());
    }

    private volatile Failsafe failsafe;

    /** The failsafe the observations report on (the replica's wait, the master's hold). */
    void failsafe(Failsafe f) {
        this.failsafe = f;
    }

    /** PostgreSQL was just started: a start that never gets ready counts as failed. */
    void started() {
        startedAt = System.nanoTime();
    }

    /** The standby was just repointed: it has the follow timeout to start streaming. */
    void followed() {
        notStreamingSince = System.nanoTime();
    }

    /** A clone starts afresh: earlier failed starts no longer count. */
    void recloned() {
        failedStarts = 0;
    }

    /** A pg_rewind did not work (the decision logic chooses what next). */
    void rewindFailed(NodeId source, boolean unreachable, String message) {
        rewindAt = System.nanoTime();
        rewind = new Observation.RewindOutcome(source, unreachable, message, 0);
    }

    /**
     * The server of the node holding the lock {@code lockCreated} answered with another system identifier than the
     * group's: the lock counts as nobody's (the election replaces it after a grace); nothing follows or copies it.
     */
    void foreignMaster(long lockCreated, NodeId holder, String why) {
        if (lockCreated != 0 && foreignLocks.add(lockCreated)) {
            LOG.error("[{}] the master's server is not this group's: {}; treating its lock as nobody's", name, why);
        }
        if (holder != null && holder.equals(formerHolder)) {
            formerHolder = null; // not a master of this group: no lease of ours to wait for
        }
        if (holder != null && holder.equals(lastMaster)) {
            // what it published is not a position of this group: forget it (it would make every real node "lagging")
            lastMaster = null;
            lastMasterLsn = Lsn.ZERO;
        }
    }

    /** @return true when the lock {@code lockCreated}'s holder's server was found not to be this group's */
    boolean isForeign(long lockCreated) {
        return foreignLocks.contains(lockCreated);
    }

    /** A standby that was acted on after a failed rewind (started, or cloned again) forgets it. */
    void rewindHandled() {
        rewind = null;
    }

    /** A handover whose final position did not arrive in time: the lock goes back. */
    void handoverFailed(Lsn finalLsn) {
        failedHandover = finalLsn;
    }

    /** @return the node id of the last master seen (the history's "old master") */
    String lastMaster() {
        return lastMaster == null ? "" : lastMaster.toString();
    }
}
