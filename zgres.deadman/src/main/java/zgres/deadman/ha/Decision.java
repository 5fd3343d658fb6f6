package zgres.deadman.ha;

import java.util.Optional;

import zgres.api.NodeId;

/** An action, the node it concerns (the master to follow, clone or rewind from) and the reason in words. */
public record Decision(Action action, Optional<NodeId> target, String reason) {

    public static Decision of(Action action, String reason) {
        return new Decision(action, Optional.empty(), reason);
    }

    public static Decision of(Action action, NodeId target, String reason) {
        return new Decision(action, Optional.of(target), reason);
    }

    @Override
    public String toString() {
        return action.name().toLowerCase().replace('_', '-') + ": " + reason;
    }
}
