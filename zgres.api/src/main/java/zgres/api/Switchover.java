package zgres.api;

import java.time.Instant;

/**
 * {@code /switchover/{group}}: a planned switchover or a manual failover requested by an operator.
 *
 * @param type {@code switchover} (the master hands over) or {@code failover} (the candidate takes over, with or
 *        without a master)
 * @param candidate the node to promote, empty to let the master choose the best replica (switchover only)
 * @param requestedAt when it was requested
 * @param scheduledAt not before this time
 * @param allowDataLoss a manual failover may promote a node that lacks acknowledged commits
 * @param state {@code requested}, or {@code handover} once the master stopped and released the lock
 * @param from the master handing over (handover)
 * @param finalLsn the last WAL position of the master that handed over: the candidate promotes once it has it
 */
public record Switchover(String type, String candidate, Instant requestedAt, Instant scheduledAt,
        boolean allowDataLoss, String state, String from, Lsn finalLsn) {

    public static final String SWITCHOVER = "switchover";
    public static final String FAILOVER = "failover";
    public static final String REQUESTED = "requested";
    public static final String HANDOVER = "handover";

    public Switchover {
        candidate = candidate == null ? "" : candidate;
        from = from == null ? "" : from;
        state = state == null ? REQUESTED : state;
        finalLsn = finalLsn == null ? Lsn.ZERO : finalLsn;
        scheduledAt = scheduledAt == null ? requestedAt : scheduledAt;
    }

    public boolean handover() {
        return HANDOVER.equals(state);
    }

    public boolean isFailover() {
        return FAILOVER.equals(type);
    }

    /** @return a copy in the handover state */
    public Switchover handingOver(String fromMaster, String to, Lsn lsn) {
        return new Switchover(type, to, requestedAt, scheduledAt, allowDataLoss, HANDOVER, fromMaster, lsn);
    }
}
