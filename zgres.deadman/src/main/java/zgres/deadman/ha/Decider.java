package zgres.deadman.ha;

import java.util.List;
import java.util.Optional;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.Switchover;
import zgres.api.promotion.PromotionRule;
import zgres.deadman.pg.ControlData;

/**
 * The deadman's decision logic: one pure function from an {@link Observation} to a {@link Decision}. Each situation
 * is a small method returning the action, the {@link Situation} and the reason in words; nothing here touches
 * ZooKeeper or PostgreSQL. Who may be promoted is the one {@link PromotionRule}.
 *
 * <p>Safety rules it never breaks: PostgreSQL runs as a writable primary only while this node holds the lock with
 * its current session and a valid lease; a primary without the lock is fenced; a node whose system identifier
 * differs from the group's db-id never joins; a cluster that was a primary while another node holds the lock is
 * rewound before it follows.
 */
public final class Decider {
    private final Policy policy;
    private final Takeover takeover;

    public Decider(Policy policy) {
        this.policy = policy;
        this.takeover = new Takeover(policy);
    }

    public Decision decide(Observation o) {
        Decision d = decideUnpaused(o);
        if (o.group().paused() && !allowedWhilePaused(o, d)) {
            return Decision.of(Action.WAIT, Situation.PAUSED, "paused: not acting (would " + d.action().name()
                    .toLowerCase().replace('_', '-') + ": " + d.reason() + ")");
        }
        return d;
    }

    /** While paused nothing automatic happens; what operators ask for, safety and bookkeeping still do. */
    private static boolean allowedWhilePaused(Observation o, Decision d) {
        return switch (d.action()) {
            case NONE, WAIT, REFUSE, FENCE, HANDOVER, CANCEL_SWITCHOVER, ABANDON_REQUEST, SYNC, REGISTER -> true;
            case TAKE_LOCK, PROMOTE -> requestFor(o).isPresent() || d.situation() == Situation.FAILSAFE_RETAKE;
            default -> false;
        };
    }

    /** @return a switchover handover or a manual failover naming this node */
    static Optional<Switchover> requestFor(Observation o) {
        return o.group().switchover().filter(s -> s.candidate().equals(o.me().toString())
                && (s.handover() || s.isFailover()));
    }

    private Decision decideUnpaused(Observation o) {
        if (!o.connected()) {
            return disconnected(o);
        }
        Local local = o.local();
        Optional<Observation.LongAction> busy = o.self().busy();
        if (busy.isPresent()) {
            if (local.primary() && o.lock() != LockOwner.MINE) {
                return Decision.of(Action.FENCE, Situation.FENCE_NO_LOCK, "PostgreSQL is writable without the lock "
                        + "while " + busy.get().what() + " runs: fencing");
            }
            return Decision.of(Action.WAIT, Situation.LONG_ACTION_IN_PROGRESS, busy.get().what() + " in progress (for "
                    + busy.get().forMs() / 1000 + " s)");
        }
        String dbId = o.group().dbId();
        String sysId = local.systemId();
        if (local.dataDir() == Local.DataDir.GARBAGE) {
            return Decision.of(Action.REFUSE, Situation.GARBAGE_DATA_DIRECTORY, "data directory is not empty and holds "
                    + "no PostgreSQL cluster: refusing to touch it");
        }
        if (!dbId.isEmpty() && !sysId.isEmpty() && !dbId.equals(sysId) && !servingDespiteDbId(o)) {
            return Decision.of(Action.REFUSE, Situation.FOREIGN_SYSTEM_IDENTIFIER, "system identifier " + sysId
                    + " differs from the group's db-id " + dbId + ": this data belongs to another cluster, not joining "
                    + "the group");
        }
        if (local.dataDir() == Local.DataDir.EMPTY) {
            return emptyDataDirectory(o);
        }
        if (local.failedStarts() >= 3 && o.lock() == LockOwner.OTHER && o.group().masterConn().isPresent()
                && (local.standbySignal() || !local.running())) {
            NodeId m = o.group().master().orElseThrow();
            return Decision.of(Action.RECLONE, m, Situation.FAILED_STARTS_RECLONE, "PostgreSQL failed to start "
                    + local.failedStarts() + " times in a row: cloning it again from " + m.address());
        }
        if (!local.running()) {
            return notRunning(o);
        }
        if (!local.status().reachable()) {
            return Decision.of(Action.WAIT, Situation.STARTING_UP, "PostgreSQL runs but does not answer yet: "
                    + local.status().error());
        }
        return local.status().inRecovery() ? standby(o) : primary(o);
    }

    /**
     * A db-id that differs from our system identifier stops a node from joining, not a group that serves: PostgreSQL
     * running as the master holding the lock, or as a replica of the same cluster as that master, keeps running (the
     * snapshot and the deadman's problems say loudly that {@code /static} was changed).
     */
    private static boolean servingDespiteDbId(Observation o) {
        Local local = o.local();
        if (!local.running()) {
            return false;
        }
        if (o.lock() == LockOwner.MINE && local.primary()) {
            return true;
        }
        return o.lock() == LockOwner.OTHER && o.group().masterState().map(m -> m.systemId().equals(local.systemId()))
                .orElse(false);
    }

    // ------------------------------------------------------------------ situations

    private Decision disconnected(Observation o) {
        if (o.local().primary()) {
            return Decision.of(Action.WAIT, Situation.ZOOKEEPER_UNREACHABLE, "ZooKeeper unreachable: not master any "
                    + "more (the lease is not renewed; the dead man's switch fences PostgreSQL when it runs out"
                    + (policy.failsafe() ? ", unless the failsafe keeps it writable while every promotable replica "
                            + "streams from it" : "") + ")");
        }
        return Decision.of(Action.WAIT, Situation.ZOOKEEPER_UNREACHABLE, "ZooKeeper unreachable: no automatic action");
    }

    private Decision emptyDataDirectory(Observation o) {
        if (o.group().dbId().isEmpty()) {
            return switch (o.lock()) {
                case NONE -> Decision.of(Action.BOOTSTRAP, Situation.BOOTSTRAP_GROUP, "empty data directory and no "
                        + "db-id: bootstrapping the group with initdb (taking the lock first)");
                case MINE -> Decision.of(Action.BOOTSTRAP, Situation.BOOTSTRAP_GROUP, "empty data directory, no db-id "
                        + "and we hold the lock: bootstrapping");
                default -> Decision.of(Action.WAIT, Situation.BOOTSTRAP_BY_ANOTHER_NODE, "empty data directory: "
                        + "another node is bootstrapping the group");
            };
        }
        Optional<NodeId> master = o.group().master();
        if (o.lock() == LockOwner.OTHER && master.isPresent() && o.group().masterConn().isPresent()) {
            return Decision.of(Action.CLONE, master.get(), Situation.CLONE_FROM_MASTER, "empty data directory: "
                    + "building a replica with the clone methods (master " + master.get().address() + ")");
        }
        if (o.lock() == LockOwner.MINE_STALE) {
            return Decision.of(Action.DELETE_STALE_LOCK, Situation.STALE_LOCK, "empty data directory but the lock "
                    + "names us (an earlier session): deleting it");
        }
        return Decision.of(Action.WAIT, Situation.NO_MASTER_TO_CLONE_FROM, "empty data directory: waiting for a "
                + "healthy master to clone from");
    }

    private Decision notRunning(Observation o) {
        Local local = o.local();
        boolean wasPrimary = !local.standbySignal() && local.control().map(ControlData::wasPrimary).orElse(false);
        switch (o.lock()) {
            case MINE -> {
                if (local.downForMs() > policy.crashRestartTimeoutMs()) {
                    return Decision.of(Action.RELEASE_LOCK, Situation.CRASH_RESTART_TIMEOUT, "PostgreSQL has been down "
                            + "for " + local.downForMs() + " ms (crash_restart_timeout " + policy.crashRestartTimeoutMs()
                            + " ms): giving up the lock so that the best replica takes over");
                }
                if (o.group().timeline() > local.timeline() && local.timeline() > 0) {
                    return Decision.of(Action.RELEASE_LOCK, Situation.OLDER_TIMELINE_THAN_GROUP, "local timeline "
                            + local.timeline() + " is older than the group's " + o.group().timeline()
                            + ": giving up the lock");
                }
                if (!wasPrimary) {
                    return Decision.of(Action.START_STANDBY, Situation.START_STANDBY_TO_PROMOTE, "holding the lock "
                            + "with a standby that does not run: starting it, then promoting");
                }
                if (!o.leaseValid()) {
                    return Decision.of(Action.WAIT, Situation.LEASE_NOT_CONFIRMED, "holding the lock but the lease is "
                            + "not confirmed: not starting PostgreSQL as master yet");
                }
                return Decision.of(Action.START_MASTER, Situation.RESTART_IN_PLACE, "PostgreSQL is down while we hold "
                        + "the lock: restarting it in place (crash recovery loses nothing)");
            }
            case MINE_STALE -> {
                return Decision.of(Action.DELETE_STALE_LOCK, Situation.STALE_LOCK, "the lock names us but belongs to "
                        + "an earlier session and PostgreSQL does not run here: deleting it so that the group can elect "
                        + "a master");
            }
            case OTHER -> {
                NodeId m = o.group().master().orElseThrow();
                Optional<ConnInfo> mc = o.group().masterConn();
                int masterTimeline = o.masterTimeline();
                boolean olderTimeline = local.dataTimeline() > 0 && masterTimeline > local.dataTimeline();
                if (wasPrimary || olderTimeline) {
                    String why = wasPrimary ? "this cluster was a primary" : "this cluster's data is on timeline "
                            + local.dataTimeline() + " and the master on " + masterTimeline;
                    if (mc.isEmpty()) {
                        return Decision.of(Action.WAIT, Situation.MASTER_UNHEALTHY, why + " and " + m.address()
                                + " holds the lock but is not healthy: waiting to rewind from it");
                    }
                    return rewind(o, m, why);
                }
                return Decision.of(Action.START_STANDBY, m, Situation.START_STANDBY_OF_MASTER, "starting as a standby "
                        + "of " + m.address());
            }
            default -> {
                return Decision.of(Action.START_STANDBY, Situation.START_STANDBY_NO_MASTER, wasPrimary
                        ? "no master: starting this former primary as a standby so that it takes part in the election"
                        : "no master: starting as a standby to take part in the election");
            }
        }
    }

    /** A rewind onto {@code m}'s timeline, unless the last one from {@code m} did not work. */
    private Decision rewind(Observation o, NodeId m, String why) {
        Optional<Observation.RewindOutcome> last = o.self().rewind().filter(r -> r.source().equals(m));
        if (last.isPresent() && last.get().unreachable()) {
            return Decision.of(Action.START_STANDBY, m, Situation.REWIND_SOURCE_UNREACHABLE, "pg_rewind from "
                    + m.address() + " did not run, nothing changed (" + last.get().message() + "): starting as a "
                    + "standby, trying again later");
        }
        if (last.isPresent() && policy.rewindFailure() == Policy.RewindFailure.RECLONE) {
            return Decision.of(Action.RECLONE, m, Situation.REWIND_FAILED_RECLONE, "pg_rewind from " + m.address()
                    + " failed (" + last.get().message() + "): cloning again (rewind_failure = reclone)");
        }
        if (last.isPresent() && last.get().ageMs() < policy.followTimeoutMs()) {
            return Decision.of(Action.WAIT, Situation.REWIND_FAILED_STOP, "pg_rewind from " + m.address() + " failed ("
                    + last.get().message() + "): leaving PostgreSQL stopped (rewind_failure = stop), trying again in "
                    + (policy.followTimeoutMs() - last.get().ageMs()) / 1000 + " s");
        }
        return Decision.of(Action.REWIND, m, Situation.REWIND_FORMER_PRIMARY, why + ": rewinding onto " + m.address()
                + "'s timeline before following it (pg_rewind does nothing when nothing diverged)");
    }

    private Decision primary(Observation o) {
        if (o.local().failsafeHolding() && (o.lock() == LockOwner.NONE || o.lock() == LockOwner.MINE_STALE)) {
            // the replicas streaming from us do not take the lock (they hear from us): it is ours to take again
            return Decision.of(Action.TAKE_LOCK, Situation.FAILSAFE_RETAKE, "failsafe: ZooKeeper is back and the "
                    + "lock is " + (o.lock() == LockOwner.NONE ? "free" : "still our expired session's")
                    + ": taking it again before anything else");
        }
        return switch (o.lock()) {
            case MINE -> master(o);
            case OTHER -> Decision.of(Action.FENCE, Situation.FENCE_OTHER_HOLDS_LOCK, "PostgreSQL is writable but "
                    + o.group().master().orElseThrow().address() + " holds the lock: fencing");
            case MINE_STALE -> Decision.of(Action.FENCE, Situation.FENCE_STALE_LOCK, "PostgreSQL is writable but the "
                    + "lock belongs to an earlier session of ours: fencing");
            case NONE -> Decision.of(Action.FENCE, Situation.FENCE_NO_LOCK, "PostgreSQL is writable but nobody holds the "
                    + "lock: fencing");
        };
    }

    /** The master holding its lock: a due switchover first, then registering a new group, then synchronous mode. */
    private Decision master(Observation o) {
        Optional<Switchover> due = o.group().switchover().filter(s -> !s.handover()
                && !o.now().isBefore(s.scheduledAt()));
        if (due.isPresent()) {
            return takeover.handover(o, due.get());
        }
        if (o.group().dbId().isEmpty()) {
            return Decision.of(Action.REGISTER, Situation.BOOTSTRAPPED, "bootstrapped: publishing the group's db-id "
                    + o.local().systemId() + " and timeline, creating the replication role");
        }
        if (o.replication().isPresent()) {
            Observation.Replication r = o.replication().get();
            GroupState g = o.groupAsMaster();
            List<String> published = g.sync().master().equals(o.me().toString()) ? g.sync().standbys() : List.of();
            SyncPlanner.Plan plan = SyncPlanner.plan(policy.syncMode(), policy.syncCount(), o.me(), g,
                    r.standbyNames(), published, r.rows(), r.syncSince());
            if (!g.sync().master().equals(o.me().toString()) && plan.unpublish().isEmpty()
                    && plan.publish().isEmpty()) {
                plan = plan.claimingSync();
            }
            if (!plan.nothing()) {
                return new Decision(Action.SYNC, Optional.empty(), Situation.SYNC_STEP, "sync: " + plan.reason(),
                        Optional.of(plan));
            }
        }
        return Decision.of(Action.NONE, Situation.MASTER_STEADY, "master, holding the lock");
    }

    private Decision standby(Observation o) {
        Local local = o.local();
        switch (o.lock()) {
            case MINE -> {
                return takeover.promotion(o);
            }
            case MINE_STALE -> {
                return Decision.of(Action.DELETE_STALE_LOCK, Situation.STALE_LOCK, "the lock names us but belongs to an "
                        + "earlier session and we are a standby: deleting it");
            }
            case OTHER -> {
                NodeId m = o.group().master().orElseThrow();
                Optional<ConnInfo> mc = o.group().masterConn();
                if (mc.isEmpty()) {
                    return Decision.of(Action.WAIT, Situation.MASTER_UNHEALTHY, "master " + m.address() + " holds the "
                            + "lock but is not healthy");
                }
                if (!m.address().equals(local.configuredUpstream())) {
                    return Decision.of(Action.FOLLOW, m, Situation.FOLLOW_NEW_MASTER, "following the new master "
                            + m.address() + (local.configuredUpstream().isEmpty() ? "" : " (was "
                                    + local.configuredUpstream() + ")"));
                }
                int masterTimeline = o.masterTimeline();
                if (local.notStreamingForMs() > policy.followTimeoutMs() && masterTimeline > local.dataTimeline()) {
                    return Decision.of(Action.REWIND, m, Situation.REWIND_STUCK_STANDBY, "not streaming from "
                            + m.address() + " for " + local.notStreamingForMs() + " ms with data on timeline "
                            + local.dataTimeline() + " (master on " + masterTimeline + "): rewinding");
                }
                return local.status().streaming()
                        ? Decision.of(Action.NONE, Situation.STREAMING, "streaming from " + m.address())
                        : Decision.of(Action.NONE, Situation.NOT_STREAMING_YET, "following " + m.address()
                                + " (not streaming yet)");
            }
            default -> {
                Optional<Decision> requested = takeover.requested(o);
                return requested.isPresent() ? requested.get() : takeover.election(o);
            }
        }
    }

    /**
     * What a master does when its deadman stops cleanly (see {@link Takeover#onStop}).
     */
    public Decision onStop(Observation o) {
        return takeover.onStop(o, java.util.Set.of());
    }

    /** The same, never handing over to {@code stoppingToo} (nodes of this runtime, which stops as a whole). */
    public Decision onStop(Observation o, java.util.Set<NodeId> stoppingToo) {
        return takeover.onStop(o, stoppingToo);
    }
}
