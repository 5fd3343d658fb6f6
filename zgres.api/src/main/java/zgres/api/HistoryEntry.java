package zgres.api;

import java.time.Instant;
import java.util.Locale;

/**
 * One entry of {@code /history/{group}/h-NNNNNNNNNN}: a promotion.
 *
 * @param timeline the new master's timeline
 * @param lsn the position it was promoted at
 * @param oldMaster the node id of the master before (empty when unknown)
 * @param newMaster the node id of the new master
 * @param cause why
 * @param at when
 */
public record HistoryEntry(int timeline, Lsn lsn, String oldMaster, String newMaster, Cause cause, Instant at) {

    /** Why a node became master. */
    public enum Cause {
        /** initdb of the group's first node */
        BOOTSTRAP,
        /** elected when the lock was free */
        FAILOVER,
        /** a planned switchover (the old master handed over) */
        SWITCHOVER,
        /** an operator's manual failover */
        MANUAL,
        /** holding the lock with a standby (e.g. after a restart) */
        PROMOTION;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Cause fromJson(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("unknown reason '" + s + "'");
            }
        }
    }

    public HistoryEntry {
        oldMaster = oldMaster == null ? "" : oldMaster;
        newMaster = newMaster == null ? "" : newMaster;
        lsn = lsn == null ? Lsn.ZERO : lsn;
        at = at == null ? Instant.EPOCH : at;
    }
}
