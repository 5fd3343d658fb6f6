package zgres.api.promotion;

/** The checks of the promotion rule, in the order they are made; a refusal names the first that failed. */
public enum Check {
    /** the candidate publishes no {@code /state} in the group */
    NOT_A_MEMBER,
    /** the candidate is the master already: it holds the lock as the primary (switchover, manual failover) */
    IS_THE_MASTER,
    /** the candidate is not a healthy replica: another role, a problem, or no {@code /conn} */
    UNHEALTHY,
    /** the candidate is tagged {@code nofailover} */
    NOFAILOVER,
    /** the candidate's system identifier differs from the group's db-id */
    FOREIGN_CLUSTER,
    /** a switchover candidate does not stream from the master that hands over */
    NOT_STREAMING_FROM_MASTER,
    /** the candidate is on an older timeline than the newest */
    OLD_TIMELINE,
    /** the candidate is further than {@code maximum_lag_on_failover} behind the master's last position */
    LAGGING,
    /** synchronous mode: the candidate is not in {@code /sync}, so it may lack acknowledged commits */
    NOT_SYNCHRONOUS,
    /** manual failover: another member holds WAL the candidate lacks */
    PEER_AHEAD;

    /** @return true when the check protects acknowledged commits ({@code --allow-data-loss} waives it) */
    public boolean dataLoss() {
        return this == OLD_TIMELINE || this == LAGGING || this == NOT_SYNCHRONOUS || this == PEER_AHEAD;
    }
}
