package zgres.api.promotion;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.PromotionPolicy;
import zgres.api.Role;
import zgres.api.SyncMode;

/**
 * May this node be promoted? One pure function of the candidate, the group and the request; every place that
 * promotes or asks for a promotion uses it: the election, the master handing over (a requested switchover or a clean
 * stop), the candidate of a manual failover, and the shell before it writes a request.
 *
 * <p>The checks, in order ({@link Check}); each applies to every purpose unless said:
 * <ol>
 * <li>a member of the group (it publishes {@code /state});
 * <li>not the master already (switchover, manual failover);
 * <li>a healthy replica: role replica, no problem, {@code /conn} published;
 * <li>not tagged {@code nofailover};
 * <li>the group's system identifier;
 * <li>streaming from the master (switchover);
 * <li>on the newest timeline ({@link Request#timeline()}; an election: the newest among its candidates);
 * <li>within {@code maximum_lag_on_failover} of the master's last position (when it is known);
 * <li>in synchronous mode, listed in {@code /sync};
 * <li>nobody further ahead (manual failover without a master).
 * </ol>
 * A manual failover with {@code --allow-data-loss} waives the data checks (timeline, lag, {@code /sync}, ahead).
 */
public final class PromotionRule {
    private static final Comparator<Ranking.Candidate> BEST_FIRST = Comparator.comparing(Ranking.Candidate::lsn)
            .reversed().thenComparing(Comparator.comparingInt(Ranking.Candidate::priority).reversed())
            .thenComparing(Ranking.Candidate::id);

    private PromotionRule() {}

    /** @return the first check {@code candidate} fails for {@code request}, or empty when it may be promoted */
    public static Optional<Refusal> refusal(NodeId candidate, GroupState group, Request request) {
        List<Refusal> all = refusals(candidate, group, request);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(0));
    }

    /**
     * @return every check {@code candidate} fails (the first is the one that counts; a manual failover shows the
     *         operator all the data it could lose)
     */
    public static List<Refusal> refusals(NodeId candidate, GroupState group, Request request) {
        List<Refusal> out = new ArrayList<>();
        Optional<NodeState> cs = group.state(candidate);
        if (cs.isEmpty()) {
            out.add(new Refusal(candidate, Check.NOT_A_MEMBER, "it is not a member of the group " + group.name()));
            return out;
        }
        NodeState c = cs.get();
        boolean masterPresent = group.master().isPresent();
        // the master already: holding the lock as the primary (the candidate of a request holds it as a replica while
        // it checks itself, before promoting)
        if (request.purpose() != Purpose.ELECTION && group.masterState().filter(m -> m.id().equals(candidate))
                .isPresent()) {
            out.add(new Refusal(candidate, Check.IS_THE_MASTER, "it is the master already"));
            return out;
        }
        if (c.role() != Role.REPLICA || !c.problems().isEmpty() || !group.conns().containsKey(candidate)) {
            out.add(new Refusal(candidate, Check.UNHEALTHY, "it is not a healthy replica (" + c.role().jsonName()
                    + ", " + c.phase().jsonName() + (c.problems().isEmpty() ? "" : ": " + String.join("; ",
                            c.problems())) + (c.problems().isEmpty() && !group.conns().containsKey(candidate)
                                    ? ", no /conn" : "") + ")"));
            return out;
        }
        if (c.tags().nofailover()) {
            out.add(new Refusal(candidate, Check.NOFAILOVER, "it is tagged nofailover"));
            return out;
        }
        if (!group.dbId().isEmpty() && !c.systemId().isEmpty() && !group.dbId().equals(c.systemId())) {
            out.add(new Refusal(candidate, Check.FOREIGN_CLUSTER, "it belongs to another cluster (system identifier "
                    + c.systemId() + ", the group's db-id " + group.dbId() + ")"));
            return out;
        }
        if (request.purpose() == Purpose.SWITCHOVER && masterPresent
                && !c.upstream().equals(group.master().get().address())) {
            out.add(new Refusal(candidate, Check.NOT_STREAMING_FROM_MASTER, "it does not stream from the master "
                    + "(upstream '" + c.upstream() + "')"));
            return out;
        }
        boolean waive = request.purpose() == Purpose.MANUAL_FAILOVER && request.allowDataLoss();
        if (waive) {
            return out;
        }
        int newest = request.timeline();
        if (request.purpose() == Purpose.MANUAL_FAILOVER) {
            newest = Math.max(newest, group.states().values().stream().filter(s -> s.role() == Role.REPLICA
                    || s.role() == Role.MASTER).mapToInt(NodeState::timeline).max().orElse(0));
        }
        if (newest > 0 && c.timeline() < newest) {
            out.add(new Refusal(candidate, Check.OLD_TIMELINE, "it is on timeline " + c.timeline() + ", the newest is "
                    + newest));
        }
        Lsn lsn = position(c);
        long maxLag = request.policy().maximumLagOnFailover();
        if (!request.reference().equals(Lsn.ZERO) && request.reference().bytesAfter(lsn) > maxLag) {
            out.add(new Refusal(candidate, Check.LAGGING, "it is lagging " + request.reference().bytesAfter(lsn)
                    + " bytes behind the master's last position " + request.reference() + " (maximum_lag_on_failover "
                    + maxLag + ")"));
        }
        if (request.policy().synchronous() && !group.sync().standbys().contains(candidate.toString())) {
            out.add(new Refusal(candidate, Check.NOT_SYNCHRONOUS, "synchronous mode: it is not a synchronous standby "
                    + "(/sync lists " + new TreeSet<>(group.sync().standbys()) + ")"));
        }
        if (request.purpose() == Purpose.MANUAL_FAILOVER) {
            for (NodeState s : group.states().values()) {
                if (!s.id().equals(candidate) && s.bestLsn().isAfter(c.bestLsn())) {
                    out.add(new Refusal(candidate, Check.PEER_AHEAD, s.id().address() + " is "
                            + s.bestLsn().bytesAfter(c.bestLsn()) + " bytes ahead (at " + s.bestLsn() + ")"));
                }
            }
        }
        return out;
    }

    /**
     * Ranks the members that may be promoted for {@code request}: best first by received position, then priority,
     * then node id. An election also leaves out candidates on an older timeline than the newest of its candidates.
     * The master is never a candidate of a switchover or a manual failover.
     */
    public static Ranking rank(GroupState group, Request request) {
        List<Ranking.Candidate> passed = new ArrayList<>();
        List<Refusal> excluded = new ArrayList<>();
        for (NodeState s : group.states().values()) {
            if (request.purpose() != Purpose.ELECTION && group.master().filter(s.id()::equals).isPresent()) {
                continue;
            }
            Optional<Refusal> r = refusal(s.id(), group, request);
            if (r.isPresent()) {
                excluded.add(r.get());
            } else {
                passed.add(new Ranking.Candidate(s.id(), position(s), s.timeline(), s.tags().priority()));
            }
        }
        List<Ranking.Candidate> ranked = new ArrayList<>();
        int newest = passed.stream().mapToInt(Ranking.Candidate::timeline).max().orElse(0);
        for (Ranking.Candidate c : passed) {
            if (request.purpose() == Purpose.ELECTION && c.timeline() < newest) {
                excluded.add(new Refusal(c.id(), Check.OLD_TIMELINE, "it is on timeline " + c.timeline()
                        + ", others on " + newest));
            } else {
                ranked.add(c);
            }
        }
        ranked.sort(BEST_FIRST);
        return new Ranking(ranked, excluded);
    }

    /**
     * The policy a promotion is checked with: {@code own} (the checking node's settings, or the master's as it
     * publishes them), made synchronous when {@code /sync} lists standbys for a master: synchronous mode may have just
     * been turned on or off somewhere, and the safer reading wins.
     */
    public static PromotionPolicy groupPolicy(GroupState group, PromotionPolicy own) {
        if (own.synchronous() || group.sync().master().isEmpty() || group.sync().standbys().isEmpty()) {
            return own;
        }
        return new PromotionPolicy(own.maximumLagOnFailover(), SyncMode.ON);
    }

    /** A replica's position: what it received or replayed, whichever is further. */
    static Lsn position(NodeState s) {
        return Lsn.max(s.receiveLsn(), s.replayLsn());
    }
}
