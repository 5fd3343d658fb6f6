package zgres.deadman.slots;

/**
 * How the master keeps its members' replication slots.
 *
 * @param enabled replicas stream through a slot the master keeps for them ({@code replication_slots})
 * @param dropAfterMs the slot of a member gone from {@code /state} (and not streaming) is dropped after this
 *        ({@code slot_drop_after_s})
 * @param maxWalKeepMb the most WAL all slots may hold back: PostgreSQL's {@code max_slot_wal_keep_size}, which
 *        invalidates a slot past it at a checkpoint, so that a member away too long never fills the master's disk
 *        ({@code max_slot_wal_keep_size_mb})
 */
public record SlotPolicy(boolean enabled, long dropAfterMs, long maxWalKeepMb) {
    public static final SlotPolicy DEFAULT = new SlotPolicy(true, 1_800_000, 4096);
}
