package zgres.deadman.ha;

/** Who holds {@code /lock/{group}}, from this node's point of view. */
public enum LockOwner {
    /** no lock: the group has no master */
    NONE,
    /** our address, created by our current ZooKeeper session */
    MINE,
    /** our address, but created by an earlier session of ours (it expires with that session) */
    MINE_STALE,
    /** another node */
    OTHER
}
