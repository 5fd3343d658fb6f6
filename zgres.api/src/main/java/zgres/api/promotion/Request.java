package zgres.api.promotion;

import zgres.api.Lsn;
import zgres.api.PromotionPolicy;

/**
 * What a promotion is checked against.
 *
 * @param purpose election, switchover or manual failover
 * @param policy the group's settings (the master's, as it publishes them)
 * @param reference the master's last position: a candidate further behind than {@code maximum_lag_on_failover} is
 *        refused ({@link Lsn#ZERO} when unknown: no lag check)
 * @param timeline the timeline a candidate must be on at least (0: none; an election uses the newest among its
 *        candidates)
 * @param allowDataLoss a manual failover may promote a node lacking acknowledged commits: the data checks are waived
 */
public record Request(Purpose purpose, PromotionPolicy policy, Lsn reference, int timeline, boolean allowDataLoss) {

    public Request {
        policy = policy == null ? PromotionPolicy.DEFAULT : policy;
        reference = reference == null ? Lsn.ZERO : reference;
    }

    /** The lock is free: candidates within the lag of the master's last published position. */
    public static Request election(PromotionPolicy policy, Lsn lastMasterLsn) {
        return new Request(Purpose.ELECTION, policy, lastMasterLsn, 0, false);
    }

    /** A master hands over: candidates streaming from it, on its timeline, within the lag of its position. */
    public static Request switchover(PromotionPolicy policy, Lsn masterLsn, int masterTimeline) {
        return new Request(Purpose.SWITCHOVER, policy, masterLsn, masterTimeline, false);
    }

    /** An operator's manual failover without a master: nobody may be ahead of the candidate. */
    public static Request manualFailover(PromotionPolicy policy, boolean allowDataLoss) {
        return new Request(Purpose.MANUAL_FAILOVER, policy, Lsn.ZERO, 0, allowDataLoss);
    }
}
