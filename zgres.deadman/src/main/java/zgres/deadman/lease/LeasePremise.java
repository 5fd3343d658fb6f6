package zgres.deadman.lease;

import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * The lease argument's premises, checked rather than assumed: the margin subtracted from the lease must cover the
 * ensemble's tick/2 (the leader may hear of our session that much late) plus the supervisor's polling, and the lease
 * must outlast a renewal interval. The tick is learned from the ensemble ({@link zgres.zookeeper.Coordination
 * #tickTimeMs}); while it is unknown (0) the classic margin max(100 ms, T/10) applies and is not checked.
 */
final class LeasePremise {
    /** What the supervisor's polling adds to the time PostgreSQL may outlive its lease (it polls every 50 ms). */
    static final long SUPERVISOR_POLL_MS = 50;

    private final int configuredMarginMs;
    private volatile IntSupplier tickMs = () -> 0;

    /** @param configuredMarginMs {@code lease_margin_ms} (0: automatic) */
    LeasePremise(int configuredMarginMs) {
        this.configuredMarginMs = configuredMarginMs;
    }

    void tickSource(IntSupplier source) {
        this.tickMs = source;
    }

    /** @return true once the ensemble's tick is known */
    boolean tickKnown() {
        return tickMs.getAsInt() > 0;
    }

    /** @return the margin for a session timeout T: the configured one, or max(100 ms, T/10, tick/2 + polling) */
    long marginMs(long sessionTimeoutMs) {
        if (configuredMarginMs > 0) {
            return configuredMarginMs;
        }
        return Math.max(Math.max(100, sessionTimeoutMs / 10), tickMs.getAsInt() / 2 + SUPERVISOR_POLL_MS);
    }

    /** @return why a node with session timeout T must not act as master, with the numbers, when a premise fails */
    Optional<String> problem(long t) {
        int tick = tickMs.getAsInt();
        long margin = marginMs(t);
        if (tick > 0 && margin < tick / 2 + SUPERVISOR_POLL_MS) {
            return Optional.of("lease margin " + margin + " ms does not cover tick/2 (" + tick / 2 + " ms, ZooKeeper's "
                    + "tick " + tick + " ms) + " + SUPERVISOR_POLL_MS + " ms of supervisor polling: not acting as master "
                    + "(raise lease_margin_ms to " + (tick / 2 + SUPERVISOR_POLL_MS) + " or more, or lower the "
                    + "ensemble's tickTime)");
        }
        if (t * 2 / 3 - margin < t / 6 + SUPERVISOR_POLL_MS) {
            return Optional.of("a lease of " + (t * 2 / 3 - margin) + " ms (2T/3 - margin, T = " + t + " ms, margin "
                    + margin + " ms) does not outlast a renewal interval (T/6 = " + t / 6 + " ms): not acting as master "
                    + "(raise session_timeout_ms or lower the margin)");
        }
        return Optional.empty();
    }
}
