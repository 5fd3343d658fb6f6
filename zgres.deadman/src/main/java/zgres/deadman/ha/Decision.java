package zgres.deadman.ha;

import java.util.Optional;

import zgres.api.NodeId;

/**
 * An action, the node it concerns (the master to follow, clone or rewind from, the switchover candidate), the
 * situation it was decided in and the reason in words; a {@link Action#SYNC} decision carries its plan.
 */
public record Decision(Action action, Optional<NodeId> target, Situation situation, String reason,
        Optional<SyncPlanner.Plan> plan) {

    public Decision {
        target = target == null ? Optional.empty() : target;
        plan = plan == null ? Optional.empty() : plan;
    }

    public static Decision of(Action action, Situation situation, String reason) {
        return new Decision(action, Optional.empty(), situation, reason, Optional.empty());
    }

    public static Decision of(Action action, NodeId target, Situation situation, String reason) {
        return new Decision(action, Optional.of(target), situation, reason, Optional.empty());
    }

    /** @return true when the decision changes something (as opposed to waiting or refusing again) */
    public boolean acts() {
        return action.acts();
    }

    /** @return what identifies the decision in the log, numbers aside: the same key is logged once */
    public String logKey() {
        return action + "/" + situation + "/" + target.map(NodeId::toString).orElse("");
    }

    @Override
    public String toString() {
        return action.name().toLowerCase().replace('_', '-') + ": " + reason;
    }
}
