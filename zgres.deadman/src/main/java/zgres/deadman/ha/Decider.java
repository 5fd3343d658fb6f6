package zgres.deadman.ha;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.PromotionPolicy;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.api.promotion.PromotionRule;
import zgres.api.promotion.Ranking;
import zgres.api.promotion.Refusal;
import zgres.api.promotion.Request;
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

    public Decider(Policy policy) {
        this.policy = policy;
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
            case TAKE_LOCK, PROMOTE -> requestFor(o).isPresent();
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
        if (!dbId.isEmpty() && !sysId.isEmpty() && !dbId.equals(sysId)) {
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

    // ------------------------------------------------------------------ situations

    private Decision disconnected(Observation o) {
        if (o.local().primary()) {
            return Decision.of(Action.WAIT, Situation.ZOOKEEPER_UNREACHABLE, "ZooKeeper unreachable: not master any "
                    + "more (the lease is not renewed; the dead man's switch fences PostgreSQL when it runs out)");
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
            return Decision.of(Action.CLONE, master.get(), Situation.CLONE_FROM_MASTER, "empty data directory: cloning "
                    + "from master " + master.get().address() + " with pg_basebackup");
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
                int masterTimeline = masterTimeline(o);
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
            return Decision.of(Action.START_STANDBY, m, Situation.REWIND_SOURCE_UNREACHABLE, "pg_rewind could not reach "
                    + m.address() + " (" + last.get().message() + "): starting as a standby, trying again later");
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
            return handover(o, due.get());
        }
        if (o.group().dbId().isEmpty()) {
            return Decision.of(Action.REGISTER, Situation.BOOTSTRAPPED, "bootstrapped: publishing the group's db-id "
                    + o.local().systemId() + " and timeline, creating the replication role");
        }
        if (o.replication().isPresent()) {
            Observation.Replication r = o.replication().get();
            GroupState g = asMaster(o);
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
                return promotion(o);
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
                int masterTimeline = masterTimeline(o);
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
                Optional<Decision> requested = requested(o);
                return requested.isPresent() ? requested.get() : election(o);
            }
        }
    }

    /**
     * Holding the lock as a standby: promote, unless what was just read again says otherwise. A handover is promoted
     * once the old master's final position is replayed (nobody can be further ahead); a manual failover is checked
     * with the rule (as the shell did); anything else is an election won: a peer that turns out to be ahead gets the
     * lock instead.
     */
    private Decision promotion(Observation o) {
        Optional<Switchover> request = o.fresh().map(Observation.Fresh::request).orElse(o.group().switchover())
                .filter(s -> s.candidate().equals(o.me().toString()) && (s.handover() || s.isFailover()));
        if (request.isPresent() && request.get().handover()) {
            Switchover s = request.get();
            if (s.finalLsn().equals(Lsn.ZERO)) {
                return Decision.of(Action.ABANDON_REQUEST, Situation.HANDOVER_WITHOUT_POSITION, "switchover: the old "
                        + "master " + s.from() + " released the lock without recording its last position; giving the "
                        + "lock back so that the most advanced node is elected");
            }
            if (o.self().failedHandover().filter(s.finalLsn()::equals).isPresent()) {
                return Decision.of(Action.ABANDON_REQUEST, Situation.HANDOVER_NOT_CAUGHT_UP, "switchover: did not "
                        + "receive the old master's last position " + s.finalLsn() + " in time; giving the lock back so "
                        + "that the most advanced node is elected");
            }
            return Decision.of(Action.PROMOTE, Situation.PROMOTE_HANDOVER, "switchover from " + s.from()
                    + ": promoting once the old master's last position " + s.finalLsn() + " is replayed");
        }
        GroupState g = withFreshSelf(o, o.fresh().map(Observation.Fresh::group).orElse(o.group()));
        PromotionPolicy p = PromotionRule.groupPolicy(g, policy.promotion());
        if (request.isPresent()) {
            List<Refusal> refusals = PromotionRule.refusals(o.me(), g, Request.manualFailover(p,
                    request.get().allowDataLoss()));
            if (!refusals.isEmpty()) {
                return Decision.of(Action.ABANDON_REQUEST, Situation.MANUAL_FAILOVER_REFUSED, "manual failover to "
                        + o.me().address() + " refused: " + refusals.stream().map(Refusal::reason)
                                .collect(Collectors.joining("; ")) + ": dropping the request, giving the lock back");
            }
            return Decision.of(Action.PROMOTE, Situation.PROMOTE_MANUAL, "manual failover: promoting");
        }
        Ranking r = PromotionRule.rank(g, Request.election(p, o.lastMasterLsn()));
        if (r.rankOf(o.me()) < 0) {
            return Decision.of(Action.RELEASE_LOCK, Situation.NOT_A_CANDIDATE_ANY_MORE, "holding the lock but not a "
                    + "candidate: " + r.refusal(o.me()).map(Refusal::reason).orElse("?") + ": giving the lock back");
        }
        Ranking.Candidate best = r.best().orElseThrow();
        Lsn mine = o.local().lsn();
        if (!best.id().equals(o.me()) && best.lsn().isAfter(mine)) {
            return Decision.of(Action.RELEASE_LOCK, Situation.PEER_AHEAD, "a peer is ahead: " + best.id().address()
                    + " has LSN " + best.lsn() + " > ours " + mine + ": giving the lock back");
        }
        return Decision.of(Action.PROMOTE, Situation.PROMOTE_HOLDING_LOCK, "holding the lock: promoting");
    }

    /** A handover or a manual failover in progress: its candidate takes the lock, the others leave it time. */
    private Optional<Decision> requested(Observation o) {
        Optional<Switchover> sw = o.group().switchover().filter(s -> s.handover() || s.isFailover());
        if (sw.isEmpty() || sw.get().candidate().isEmpty()) {
            return Optional.empty();
        }
        Switchover s = sw.get();
        String what = s.handover() ? "switchover from " + s.from() : "manual failover";
        if (s.candidate().equals(o.me().toString())) {
            return Optional.of(Decision.of(Action.TAKE_LOCK, Situation.REQUEST_CANDIDATE, what + ": this node is the "
                    + "candidate, taking the lock" + (s.handover() && !s.finalLsn().equals(Lsn.ZERO)
                            ? " (the old master's last position is " + s.finalLsn() + ")" : "")));
        }
        if (o.lockFreeForMs() < policy.handoverTimeoutMs()) {
            return Optional.of(Decision.of(Action.WAIT, Situation.REQUEST_IN_PROGRESS, what + " to " + s.candidate()
                    + " in progress"));
        }
        return Optional.empty();
    }

    /**
     * A master whose deadman is stopped cleanly hands over to the replica a switchover would choose (no election to
     * wait for, and the candidate promotes only with the final position), or, when none qualifies or the group is
     * paused, just releases the lock after PostgreSQL stopped.
     */
    public Decision onStop(Observation o) {
        if (o.group().paused()) {
            return Decision.of(Action.NONE, Situation.STOP_RELEASE, "the group is paused: releasing the lock without "
                    + "handing over");
        }
        Ranking r = PromotionRule.rank(asMaster(o), switchoverRequest(o));
        if (r.best().isEmpty()) {
            return Decision.of(Action.NONE, Situation.STOP_RELEASE, "no replica to hand over to (" + excluded(r)
                    + "): releasing the lock, the group elects");
        }
        NodeId candidate = r.best().get().id();
        return Decision.of(Action.HANDOVER, candidate, Situation.STOP_HANDOVER, "stopping: handing over to the best "
                + "replica " + candidate.address());
    }

    /** The master's side of a switchover: check the candidate, then hand over (or give up with the reason). */
    private Decision handover(Observation o, Switchover s) {
        GroupState g = asMaster(o);
        Request request = switchoverRequest(o);
        NodeId candidate;
        if (!s.candidate().isEmpty()) {
            candidate = NodeId.parse(s.candidate());
        } else {
            Ranking r = PromotionRule.rank(g, request);
            if (r.best().isEmpty()) {
                return Decision.of(Action.CANCEL_SWITCHOVER, Situation.SWITCHOVER_REFUSED, "switchover: no healthy "
                        + "replica to hand over to (" + excluded(r) + ")");
            }
            candidate = r.best().get().id();
        }
        Optional<Refusal> refusal = PromotionRule.refusal(candidate, g, request);
        if (refusal.isPresent()) {
            return Decision.of(Action.CANCEL_SWITCHOVER, candidate, Situation.SWITCHOVER_REFUSED, "switchover to "
                    + candidate.address() + " refused: " + refusal.get().reason());
        }
        return Decision.of(Action.HANDOVER, candidate, Situation.SWITCHOVER_DUE, "switchover requested: handing over "
                + "to " + candidate.address());
    }

    /** What a replica must satisfy to take over from this master now: its position, its timeline, the group policy. */
    private Request switchoverRequest(Observation o) {
        return Request.switchover(PromotionRule.groupPolicy(o.group(), policy.promotion()), o.local().lsn(),
                o.local().timeline());
    }

    private Decision election(Observation o) {
        if (o.group().paused()) {
            return Decision.of(Action.WAIT, Situation.PAUSED, "lock free but the group is paused: no automatic failover");
        }
        GroupState g = withFreshSelf(o, o.group());
        Ranking r = PromotionRule.rank(g, Request.election(PromotionRule.groupPolicy(g, policy.promotion()),
                o.lastMasterLsn()));
        int myRank = r.rankOf(o.me());
        if (myRank < 0) {
            return Decision.of(Action.WAIT, Situation.ELECTION_NOT_A_CANDIDATE, "lock free; not a candidate: "
                    + r.refusal(o.me()).map(Refusal::toString).orElse("?"));
        }
        if (o.lockFreeForMs() < policy.electionDelayMs()) {
            return Decision.of(Action.WAIT, Situation.ELECTION_DELAY, "lock free for " + o.lockFreeForMs() + " ms: "
                    + "publishing fresh positions for " + policy.electionDelayMs() + " ms before the election");
        }
        // candidates ranked above us that did not take the lock within the election timeout are skipped
        long overdue = (o.lockFreeForMs() - policy.electionDelayMs()) / Math.max(1, policy.electionTimeoutMs());
        String peers = r.ranked().stream().map(Ranking.Candidate::toString).collect(Collectors.joining(", "));
        String others = r.excluded().isEmpty() ? "" : "; not candidates: " + excluded(r);
        if (myRank == 0) {
            return Decision.of(Action.TAKE_LOCK, Situation.ELECTION_BEST, "lock free; best candidate by received LSN "
                    + o.local().lsn() + " (candidates: " + peers + others + ")");
        }
        if (myRank <= overdue) {
            return Decision.of(Action.TAKE_LOCK, Situation.ELECTION_OVERDUE, "lock free for " + o.lockFreeForMs()
                    + " ms and the " + myRank + " better candidate(s) did not take it: taking it (candidates: " + peers
                    + others + ")");
        }
        return Decision.of(Action.WAIT, Situation.ELECTION_OTHER_BEST, "lock free; best candidate is "
                + r.ranked().get(0) + ", we rank " + (myRank + 1));
    }

    private static String excluded(Ranking r) {
        return r.excluded().isEmpty() ? "it has no replica" : r.excluded().stream().map(Refusal::toString)
                .collect(Collectors.joining("; "));
    }

    /**
     * The group with this node as it is now (its published state may be a cycle old): a standby with its fresh
     * positions, its tags and the problems it published; healthy (with a /conn) when it has none.
     */
    static GroupState withFreshSelf(Observation o, GroupState g) {
        Local l = o.local();
        NodeState published = g.state(o.me()).orElse(null);
        NodeState me = new NodeState(o.me(), Role.REPLICA, l.status().streaming() ? NodePhase.STREAMING
                : NodePhase.RUNNING, l.configuredUpstream(), o.self().problems(), l.timeline(), l.status().receiveLsn(),
                l.status().replayLsn(), Lsn.ZERO, l.status().lagBytes(), l.systemId(), o.tags(), o.group().paused(),
                published == null ? java.util.Map.of() : published.plugins(), java.util.Map.of(), o.now());
        Optional<ConnInfo> conn = o.self().problems().isEmpty() ? Optional.of(new ConnInfo(o.me().host(),
                o.me().port(), "postgres", o.tags().zone())) : Optional.empty();
        return g.withNode(me, conn);
    }

    /** The group as its master sees it: the lock is ours even if the snapshot has not caught up yet. */
    static GroupState asMaster(Observation o) {
        return o.group().master().filter(o.me()::equals).isPresent() ? o.group() : o.group().withMaster(o.me());
    }

    /** @return the master's timeline as it publishes it, else the group's */
    static int masterTimeline(Observation o) {
        return Math.max(o.group().master().flatMap(o.group()::state).map(NodeState::timeline).orElse(0),
                (int) o.group().timeline());
    }
}
