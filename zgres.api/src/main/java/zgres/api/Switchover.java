package zgres.api;

import java.time.Instant;
import java.util.Locale;

/**
 * {@code /switchover/{group}}: a planned switchover or a manual failover requested by an operator.
 *
 * @param kind a switchover (the master hands over) or a manual failover (the candidate takes over, with or without
 *        a master)
 * @param candidate the node id to promote, empty to let the master choose the best replica (switchover only)
 * @param requestedAt when it was requested
 * @param scheduledAt not before this time
 * @param allowDataLoss a manual failover may promote a node that lacks acknowledged commits
 * @param stage requested, or handover once the master stopped and released the lock
 * @param from the master handing over (handover)
 * @param finalLsn the last WAL position of the master that handed over: the candidate promotes once it has it
 */
public record Switchover(Kind kind, String candidate, Instant requestedAt, Instant scheduledAt, boolean allowDataLoss,
        Stage stage, String from, Lsn finalLsn) {

    /** What was asked for. */
    public enum Kind {
        SWITCHOVER, FAILOVER;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Kind fromJson(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("'" + s + "' is not switchover or failover");
            }
        }
    }

    /** How far it got. */
    public enum Stage {
        /** written by the shell, waiting for the master (or the candidate, for a failover without a master) */
        REQUESTED,
        /** the master stopped and released the lock to the candidate, recording its final position */
        HANDOVER;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Stage fromJson(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("'" + s + "' is not requested or handover");
            }
        }
    }

    public static final Kind SWITCHOVER = Kind.SWITCHOVER;
    public static final Kind FAILOVER = Kind.FAILOVER;
    public static final Stage REQUESTED = Stage.REQUESTED;
    public static final Stage HANDOVER = Stage.HANDOVER;

    public Switchover {
        kind = kind == null ? Kind.SWITCHOVER : kind;
        candidate = candidate == null ? "" : candidate;
        from = from == null ? "" : from;
        stage = stage == null ? Stage.REQUESTED : stage;
        finalLsn = finalLsn == null ? Lsn.ZERO : finalLsn;
        requestedAt = requestedAt == null ? Instant.EPOCH : requestedAt;
        scheduledAt = scheduledAt == null ? requestedAt : scheduledAt;
    }

    public boolean handover() {
        return stage == Stage.HANDOVER;
    }

    public boolean isFailover() {
        return kind == Kind.FAILOVER;
    }

    /** @return a copy in the handover stage */
    public Switchover handingOver(String fromMaster, String to, Lsn lsn) {
        return new Switchover(kind, to, requestedAt, scheduledAt, allowDataLoss, Stage.HANDOVER, fromMaster, lsn);
    }
}
