package zgres.api.promotion;

/** Why a node is being considered for promotion: the checks differ a little (see {@link PromotionRule}). */
public enum Purpose {
    /** the lock is free: the best candidate takes it */
    ELECTION,
    /** a planned switchover, or a master stopped cleanly: the master hands over to a replica streaming from it */
    SWITCHOVER,
    /** an operator's manual failover (with or without a master; {@code --allow-data-loss} waives the data checks) */
    MANUAL_FAILOVER
}
