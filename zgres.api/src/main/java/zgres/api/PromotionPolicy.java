package zgres.api;

/**
 * The settings of a group that decide who may be promoted, as each node publishes them in its {@code /state}: the
 * master's are the group's (the shell checks a request with the master's settings, as the master will).
 *
 * @param maximumLagOnFailover a replica further than this many bytes behind the master's last position is never
 *        promoted
 * @param syncMode synchronous replication: in {@code on} and {@code strict} mode only nodes in {@code /sync} may be
 *        promoted
 */
public record PromotionPolicy(long maximumLagOnFailover, SyncMode syncMode) {
    public static final PromotionPolicy DEFAULT = new PromotionPolicy(1024 * 1024, SyncMode.OFF);

    public PromotionPolicy {
        if (maximumLagOnFailover < 0) {
            throw new IllegalArgumentException("maximum_lag_on_failover must not be negative");
        }
        syncMode = syncMode == null ? SyncMode.OFF : syncMode;
    }

    public boolean synchronous() {
        return syncMode != SyncMode.OFF;
    }
}
