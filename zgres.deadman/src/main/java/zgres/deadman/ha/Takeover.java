package zgres.deadman.ha;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.PromotionPolicy;
import zgres.api.Switchover;
import zgres.api.promotion.PromotionRule;
import zgres.api.promotion.Purpose;
import zgres.api.promotion.Ranking;
import zgres.api.promotion.Refusal;
import zgres.api.promotion.Request;

/**
 * The situations where the master changes, for {@link Decider}: an election while the lock is free, a requested
 * handover or manual failover, the master's side of a switchover, the promotion of a standby that holds the lock, and
 * the handover of a master whose deadman stops. Who may take over is always the one {@link PromotionRule}; pure, like
 * the decider.
 */
final class Takeover {
    private final Policy policy;

    Takeover(Policy policy) {
        this.policy = policy;
    }

    /**
     * Holding the lock as a standby: promote, unless what was just read again says otherwise. A handover is promoted
     * once the old master's final position is replayed (nobody can be further ahead); a manual failover is checked
     * with the rule (as the shell did); anything else is an election won: a peer that turns out to be ahead gets the
     * lock instead.
     */
    Decision promotion(Observation o) {
        Optional<Switchover> request = o.fresh().map(Observation.Fresh::request).orElse(o.group().switchover())
                .filter(s -> s.candidate().equals(o.me().toString()) && (s.handover() || s.isFailover()));
        if (request.isPresent() && request.get().handover()) {
            Switchover s = request.get();
            if (s.finalLsn().equals(Lsn.ZERO)) {
                return Decision.of(Action.ABANDON_REQUEST, Situation.HANDOVER_WITHOUT_POSITION, "switchover: the old "
                        + "master " + s.from() + " released the lock without recording its last position; giving the "
                        + "lock back so that the most advanced node is elected");
            }
            Optional<String> refused = handoverRefused(o, s, o.withFreshSelf(o.fresh().map(Observation.Fresh::group)
                    .orElse(o.group())));
            if (refused.isPresent()) {
                return Decision.of(Action.ABANDON_REQUEST, Situation.HANDOVER_REFUSED, "switchover from " + s.from()
                        + " to this node refused here: " + refused.get() + ": dropping the request, giving the lock "
                        + "back so that the most advanced node is elected");
            }
            if (o.self().failedHandover().filter(s.finalLsn()::equals).isPresent()) {
                return Decision.of(Action.ABANDON_REQUEST, Situation.HANDOVER_NOT_CAUGHT_UP, "switchover: did not "
                        + "receive the old master's last position " + s.finalLsn() + " in time; giving the lock back so "
                        + "that the most advanced node is elected");
            }
            return Decision.of(Action.PROMOTE, Situation.PROMOTE_HANDOVER, "switchover from " + s.from()
                    + ": promoting once the old master's last position " + s.finalLsn() + " is replayed");
        }
        GroupState g = o.withFreshSelf(o.fresh().map(Observation.Fresh::group).orElse(o.group()));
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
    Optional<Decision> requested(Observation o) {
        Optional<Switchover> sw = o.group().switchover().filter(s -> s.handover() || s.isFailover());
        if (sw.isEmpty() || sw.get().candidate().isEmpty()) {
            return Optional.empty();
        }
        Switchover s = sw.get();
        String what = s.handover() ? "switchover from " + s.from() : "manual failover";
        if (s.candidate().equals(o.me().toString())) {
            Optional<Decision> former = formerMasterServing(o, what + " to this node");
            if (former.isPresent()) {
                return former;
            }
            if (!s.handover()) {
                Optional<Decision> heard = masterStillHeard(o, what + " to this node");
                if (heard.isPresent()) {
                    return heard;
                }
            }
            Optional<String> refused = s.handover() ? handoverRefused(o, s, o.withFreshSelf(o.group()))
                    : Optional.empty();
            if (refused.isPresent()) {
                return Optional.of(Decision.of(Action.CANCEL_SWITCHOVER, o.me(), Situation.HANDOVER_REFUSED, "switchover"
                        + " from " + s.from() + " to this node refused here: " + refused.get()));
            }
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
     * The candidate of a handover checks itself with the one rule where the request is executed, whatever checked it
     * before writing it (the request is data from ZooKeeper, possibly forged): healthy, not {@code nofailover}, on the
     * newest timeline, a synchronous standby in synchronous mode, within {@code maximum_lag_on_failover} of the
     * furthest of the request's final position and the last position a master published - and a final position
     * that is not behind what the master published.
     *
     * @return why the request is refused, if it is
     */
    Optional<String> handoverRefused(Observation o, Switchover s, GroupState g) {
        Lsn published = o.lastMasterLsn();
        if (!s.finalLsn().equals(Lsn.ZERO) && published.isAfter(s.finalLsn())) {
            return Optional.of("its final position " + s.finalLsn() + " is behind " + published + ", a position the "
                    + "master published");
        }
        Lsn reference = Lsn.max(s.finalLsn(), published);
        PromotionPolicy p = PromotionRule.groupPolicy(g, policy.promotion());
        List<Refusal> refusals = PromotionRule.refusals(o.me(), g, new Request(Purpose.ELECTION, p, reference,
                o.masterTimeline(), false));
        return refusals.isEmpty() ? Optional.empty() : Optional.of(refusals.stream().map(Refusal::reason)
                .collect(Collectors.joining("; ")));
    }

    /**
     * A master whose deadman is stopped cleanly hands over to the replica a switchover would choose (no election to
     * wait for, and the candidate promotes only with the final position), or, when none qualifies or the group is
     * paused, just releases the lock after PostgreSQL stopped. Nodes stopping with it (its runtime stops as a whole)
     * are not candidates: a master handed to them would be handed on again a moment later.
     */
    Decision onStop(Observation o, java.util.Set<NodeId> stoppingToo) {
        if (o.group().paused()) {
            return Decision.of(Action.NONE, Situation.STOP_RELEASE, "the group is paused: releasing the lock without "
                    + "handing over");
        }
        GroupState g = o.groupAsMaster();
        if (!stoppingToo.isEmpty()) {
            java.util.Map<NodeId, zgres.api.NodeState> states = new java.util.TreeMap<>(g.states());
            states.keySet().removeIf(id -> !id.equals(o.me()) && stoppingToo.contains(id));
            g = g.withStates(states);
        }
        Ranking r = PromotionRule.rank(g, switchoverRequest(o));
        if (r.best().isEmpty()) {
            return Decision.of(Action.NONE, Situation.STOP_RELEASE, "no replica to hand over to (" + excluded(r)
                    + "): releasing the lock, the group elects");
        }
        NodeId candidate = r.best().get().id();
        return Decision.of(Action.HANDOVER, candidate, Situation.STOP_HANDOVER, "stopping: handing over to the best "
                + "replica " + candidate.address());
    }

    /** The master's side of a switchover: check the candidate, then hand over (or give up with the reason). */
    Decision handover(Observation o, Switchover s) {
        GroupState g = o.groupAsMaster();
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

    Decision election(Observation o) {
        if (o.group().paused()) {
            return Decision.of(Action.WAIT, Situation.PAUSED, "lock free but the group is paused: no automatic failover");
        }
        GroupState g = o.withFreshSelf(o.group());
        Ranking r = PromotionRule.rank(g, Request.election(PromotionRule.groupPolicy(g, policy.promotion()),
                o.lastMasterLsn()));
        int myRank = r.rankOf(o.me());
        if (myRank < 0) {
            return Decision.of(Action.WAIT, Situation.ELECTION_NOT_A_CANDIDATE, "lock free; not a candidate: "
                    + r.refusal(o.me()).map(Refusal::toString).orElse("?"));
        }
        Optional<Decision> former = formerMasterServing(o, "election");
        if (former.isPresent()) {
            return former.get();
        }
        Optional<Decision> heard = masterStillHeard(o, "election");
        if (heard.isPresent()) {
            return heard.get();
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
        if (myRank <= overdue && policy.failsafe()) {
            // a better candidate that does not take the lock may still hear from a master ZooKeeper lost: with the
            // failsafe only the best candidate takes it (a node that does not stream is never the best while the
            // replicas of a serving master publish their positions)
            return Decision.of(Action.WAIT, Situation.ELECTION_OTHER_BEST, "lock free; best candidate is "
                    + r.ranked().get(0) + ", we rank " + (myRank + 1) + ": with the failsafe on only the best "
                    + "candidate takes the lock");
        }
        if (myRank <= overdue) {
            return Decision.of(Action.TAKE_LOCK, Situation.ELECTION_OVERDUE, "lock free for " + o.lockFreeForMs()
                    + " ms and the " + myRank + " better candidate(s) did not take it: taking it (candidates: " + peers
                    + others + ")");
        }
        return Decision.of(Action.WAIT, Situation.ELECTION_OTHER_BEST, "lock free; best candidate is "
                + r.ranked().get(0) + ", we rank " + (myRank + 1));
    }

    /**
     * The lock is free but its last holder still says it is master with the session that held it (its lock was
     * deleted by someone else, or it is frozen): its PostgreSQL may take writes until its deadman fences it or its
     * lease runs out. Nobody takes over before one of these: no two writable masters, whoever deletes the lock.
     */
    private static Optional<Decision> formerMasterServing(Observation o, String what) {
        return o.formerMaster().filter(f -> o.lockFreeForMs() < f.leaseMs()).map(f -> Decision.of(Action.WAIT,
                Situation.FORMER_MASTER_SERVING, what + ": lock free but its last holder " + f.id().address()
                        + " still publishes itself as master with the session that held the lock: waiting for it to "
                        + "step down, at most its lease (" + f.leaseMs() + " ms after the lock went)"));
    }

    /**
     * With the failsafe on, a replica that heard from its upstream within δ does not take the lock: a master that
     * ZooKeeper lost may still serve while its replicas stream ({@code Failsafe}). A handover is not held back: its
     * master stopped before it gave the lock away.
     */
    private static Optional<Decision> masterStillHeard(Observation o, String what) {
        long wait = o.local().failsafeWaitMs();
        String upstream = o.local().configuredUpstream();
        Optional<NodeState> standby = wait <= 0 || upstream.isEmpty() ? Optional.empty() : o.group().states().values()
                .stream().filter(st -> !st.id().equals(o.me()) && st.id().address().equals(upstream)
                        && st.role() == zgres.api.Role.REPLICA).findFirst();
        if (standby.isPresent()) {
            // a standby's walreceiver may stream from a former master restarted as a standby (cascading): what it
            // hears there is no master, and it would wait forever. Acting on /state only disconnects it (the safe
            // direction: a master that still served would lose this replica's replies and be fenced), then the
            // usual wait after the walreceiver went applies.
            return Optional.of(Decision.of(Action.UNFOLLOW, Situation.FAILSAFE_UPSTREAM_STANDBY, what + ": this "
                    + "replica streams from " + upstream + ", which publishes itself as a standby: not following it "
                    + "any more, so that the failsafe's wait can end"));
        }
        return wait <= 0 ? Optional.empty() : Optional.of(Decision.of(Action.WAIT, Situation.FAILSAFE_MASTER_HEARD,
                what + ": this replica heard from its upstream recently: with the failsafe on, a master ZooKeeper lost "
                        + "may still serve while its replicas stream; not taking the lock for " + wait + " ms more"));
    }

    private static String excluded(Ranking r) {
        return r.excluded().isEmpty() ? "it has no replica" : r.excluded().stream().map(Refusal::toString)
                .collect(Collectors.joining("; "));
    }
}
