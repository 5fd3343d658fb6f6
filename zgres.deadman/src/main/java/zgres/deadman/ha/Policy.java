package zgres.deadman.ha;

import zgres.api.PromotionPolicy;
import zgres.api.SyncMode;

/**
 * The tunables the decision logic uses.
 *
 * @param maximumLagOnFailover a replica further than this many bytes behind the master's last published position is
 *        never promoted
 * @param electionDelayMs how long the lock must have been free before the best candidate takes it (lets every
 *        replica publish fresh positions)
 * @param electionTimeoutMs when the best candidate has not taken the lock after this long, the next one may
 * @param crashRestartTimeoutMs how long a master keeps its lock while restarting a crashed PostgreSQL in place
 * @param followTimeoutMs a standby on an older timeline that does not stream from the new master for this long is
 *        rewound
 * @param syncMode synchronous replication: off, on or strict
 * @param syncCount how many synchronous standbys the master keeps
 * @param rewindFailure what to do when pg_rewind fails
 * @param failsafe ride out a ZooKeeper outage through the replication stream ({@code zgres.deadman.lease.Failsafe})
 */
public record Policy(long maximumLagOnFailover, long electionDelayMs, long electionTimeoutMs,
        long crashRestartTimeoutMs, long followTimeoutMs, SyncMode syncMode, int syncCount, RewindFailure rewindFailure,
        boolean failsafe) {

    public Policy(long maximumLagOnFailover, long electionDelayMs, long electionTimeoutMs, long crashRestartTimeoutMs,
            long followTimeoutMs, SyncMode syncMode, int syncCount, RewindFailure rewindFailure) {
        this(maximumLagOnFailover, electionDelayMs, electionTimeoutMs, crashRestartTimeoutMs, followTimeoutMs,
                syncMode, syncCount, rewindFailure, false);
    }

    /** What to do when pg_rewind fails. */
    public enum RewindFailure {
        /** clone the data directory again from the master */
        RECLONE,
        /** leave PostgreSQL stopped (an operator looks first) */
        STOP
    }

    public Policy(long maximumLagOnFailover, long electionDelayMs, long electionTimeoutMs, long crashRestartTimeoutMs,
            long followTimeoutMs, SyncMode syncMode, int syncCount) {
        this(maximumLagOnFailover, electionDelayMs, electionTimeoutMs, crashRestartTimeoutMs, followTimeoutMs,
                syncMode, syncCount, RewindFailure.RECLONE);
    }

    public Policy(long maximumLagOnFailover, long electionDelayMs, long electionTimeoutMs, long crashRestartTimeoutMs,
            long followTimeoutMs) {
        this(maximumLagOnFailover, electionDelayMs, electionTimeoutMs, crashRestartTimeoutMs, followTimeoutMs,
                SyncMode.OFF, 1);
    }

    /** @return the settings that decide who may be promoted (published in /state; the one promotion rule uses them) */
    public PromotionPolicy promotion() {
        return new PromotionPolicy(maximumLagOnFailover, syncMode);
    }

    /** How long others leave a handover or a manual failover to its candidate before electing as usual. */
    public long handoverTimeoutMs() {
        return Math.max(10_000, 3 * electionTimeoutMs);
    }
}
