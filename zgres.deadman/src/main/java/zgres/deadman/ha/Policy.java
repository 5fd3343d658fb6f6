package zgres.deadman.ha;

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
 */
public record Policy(long maximumLagOnFailover, long electionDelayMs, long electionTimeoutMs,
        long crashRestartTimeoutMs, long followTimeoutMs, SyncPlanner.Mode syncMode, int syncCount) {

    public Policy(long maximumLagOnFailover, long electionDelayMs, long electionTimeoutMs, long crashRestartTimeoutMs,
            long followTimeoutMs) {
        this(maximumLagOnFailover, electionDelayMs, electionTimeoutMs, crashRestartTimeoutMs, followTimeoutMs,
                SyncPlanner.Mode.OFF, 1);
    }

    /** How long others leave a handover or a manual failover to its candidate before electing as usual. */
    public long handoverTimeoutMs() {
        return Math.max(10_000, 3 * electionTimeoutMs);
    }
}
