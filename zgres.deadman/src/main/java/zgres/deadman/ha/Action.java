package zgres.deadman.ha;

/** What the deadman does in one cycle. */
public enum Action {
    /** nothing to do: steady state */
    NONE,
    /** nothing can be done now; the reason says why */
    WAIT,
    /** never join the group: another cluster's data, or garbage in the data directory */
    REFUSE,
    /** initdb the first node of a group, holding the lock */
    BOOTSTRAP,
    /** pg_basebackup from the master */
    CLONE,
    /** start PostgreSQL as a standby (following the target, if any) */
    START_STANDBY,
    /** restart PostgreSQL in place as master, holding the lock with a valid lease */
    START_MASTER,
    /** repoint primary_conninfo of the running standby to the target */
    FOLLOW,
    /** stop, pg_rewind onto the target's timeline, start as its standby */
    REWIND,
    /** stop, delete the data directory and clone it again from the target (a standby that cannot start) */
    RECLONE,
    /** try to create the lock (this node is the best candidate) */
    TAKE_LOCK,
    /** promote the standby: this node holds the lock */
    PROMOTE,
    /** planned switchover on the master: stop PostgreSQL cleanly, record its last position, hand the lock over */
    HANDOVER,
    /** drop a switchover or failover request that cannot be carried out (the reason says why) */
    CANCEL_SWITCHOVER,
    /** kill PostgreSQL now: a writable primary without the lock */
    FENCE,
    /** give the lock up (PostgreSQL did not come back within the bound) */
    RELEASE_LOCK,
    /** delete the lock a previous session of ours left behind (our PostgreSQL is not a primary) */
    DELETE_STALE_LOCK
}
