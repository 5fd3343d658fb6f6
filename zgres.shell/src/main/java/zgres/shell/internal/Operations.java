package zgres.shell.internal;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.PromotionPolicy;
import zgres.api.promotion.PromotionRule;
import zgres.api.promotion.Ranking;
import zgres.api.promotion.Refusal;
import zgres.api.promotion.Request;

/**
 * The checks behind the operator commands, in words: each returns the reason a request is refused. The candidate is
 * checked with the one promotion rule ({@link PromotionRule}) and the master's published policy, exactly as the
 * master (or, without one, the candidate) checks it again when it carries the request out.
 */
final class Operations {
    private Operations() {}

    static GroupState group(ClusterSnapshot s, String group) {
        return s.group(group).orElseThrow(() -> new IllegalArgumentException("no group '" + group
                + "' in ZooKeeper (groups: " + String.join(", ", s.groups().keySet()) + ")"));
    }

    /** Accepts a node id ({@code group_host:port}) or an address ({@code host:port}). */
    static NodeId node(String group, String candidate) {
        NodeId id = candidate.contains("_") ? NodeId.parse(candidate) : NodeId.ofAddress(group, candidate);
        if (!id.group().equals(group)) {
            throw new IllegalArgumentException("node " + id + " is not in group " + group);
        }
        return id;
    }

    /** @return the group's policy: the master's published settings (the safer when /sync says otherwise) */
    static PromotionPolicy policy(GroupState g, Optional<NodeId> candidate) {
        PromotionPolicy own = g.masterState().or(() -> candidate.flatMap(g::state)).map(NodeState::policy)
                .orElse(PromotionPolicy.DEFAULT);
        return PromotionRule.groupPolicy(g, own);
    }

    /** @return why a switchover of {@code g} (to {@code candidate} when present) cannot be requested */
    static Optional<String> switchoverRefusal(GroupState g, Optional<NodeId> candidate) {
        if (g.paused()) {
            return Optional.of("group " + g.name() + " is paused (zgres:resume " + g.name() + " first)");
        }
        return pending(g).or(() -> handoverRefusal(g, candidate));
    }

    static Optional<String> pending(GroupState g) {
        return g.switchover().map(s -> "a " + s.kind().jsonName() + " of " + g.name() + " is already pending ("
                + s.stage().jsonName() + "; zgres:cancel " + g.name() + " to drop it)");
    }

    /** The candidate's side of a handover by the master: the rule's switchover checks. */
    static Optional<String> handoverRefusal(GroupState g, Optional<NodeId> candidate) {
        Optional<NodeId> master = g.master();
        if (master.isEmpty() || g.masterConn().isEmpty()) {
            return Optional.of("group " + g.name() + " has no healthy master (use zgres:failover)");
        }
        Optional<NodeState> ms = g.masterState();
        if (ms.isEmpty()) {
            return Optional.of("the master " + master.get().address() + " is not running as master");
        }
        Request request = Request.switchover(policy(g, candidate), ms.get().bestLsn(), ms.get().timeline());
        if (candidate.isEmpty()) {
            Ranking r = PromotionRule.rank(g, request);
            return r.best().isPresent() ? Optional.empty() : Optional.of("no replica of group " + g.name()
                    + " may take over (" + (r.excluded().isEmpty() ? "it has no replica" : r.excluded().stream()
                            .map(Refusal::toString).reduce((a, b) -> a + "; " + b).orElse("")) + ")");
        }
        return PromotionRule.refusal(candidate.get(), g, request).map(Refusal::toString);
    }

    /**
     * @return why a manual failover to {@code c} without a master could lose acknowledged commits (empty when it
     *         cannot): another node is further ahead, synchronous mode does not list it, an older timeline
     */
    static List<String> dataLossRisks(GroupState g, NodeId c) {
        return PromotionRule.refusals(c, g, Request.manualFailover(policy(g, Optional.of(c)), false)).stream()
                .filter(r -> r.check().dataLoss()).map(Refusal::reason).toList();
    }

    /** @return why {@code c} cannot be promoted by a manual failover at all (health, nofailover, ...) */
    static Optional<String> failoverRefusal(GroupState g, NodeId c) {
        return PromotionRule.refusals(c, g, Request.manualFailover(policy(g, Optional.of(c)), false)).stream()
                .filter(r -> !r.check().dataLoss()).map(Refusal::toString).findFirst();
    }

    static Instant parseTime(String at) {
        try {
            return Instant.parse(at);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--at '" + at + "' is not an ISO-8601 instant such as "
                    + "2026-11-26T03:00:00Z");
        }
    }
}
