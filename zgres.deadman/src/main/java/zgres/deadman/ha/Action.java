package zgres.deadman.ha;

/** What the deadman does in one cycle. */
public enum Action {
    /** nothing to do: steady state */
    NONE,
    /** nothing can be done now; the reason says why */
    WAIT,
    /** never join the group: another cluster's data, or garbage in the data directory */
    REFUSE,
    /** take the lock and initdb the first node of a group (in the background) */
    BOOTSTRAP,
    /** a freshly bootstrapped master publishes the group's db-id, timeline and history and creates its roles */
    REGISTER,
    /** pg_basebackup from the master (in the background) */
    CLONE,
    /** start PostgreSQL as a standby (following the target, if any) */
    START_STANDBY,
    /** restart PostgreSQL in place as master, holding the lock with a valid lease */
    START_MASTER,
    /** repoint primary_conninfo of the running standby to the target */
    FOLLOW,
    /** stop following (empty primary_conninfo): the standby's upstream is itself a standby (the failsafe) */
    UNFOLLOW,
    /** stop, pg_rewind onto the target's timeline (in the background), then start as its standby */
    REWIND,
    /** stop, empty the data directory and clone it again from the target (a standby that cannot start) */
    RECLONE,
    /** try to create the lock (this node is the best candidate, or named by a request) */
    TAKE_LOCK,
    /** promote the standby: this node holds the lock */
    PROMOTE,
    /** planned switchover on the master: stop PostgreSQL cleanly, record its last position, hand the lock over */
    HANDOVER,
    /** the master drops a switchover or failover request that cannot be carried out (the reason says why) */
    CANCEL_SWITCHOVER,
    /** the candidate holding the lock drops a request it cannot carry out and gives the lock back */
    ABANDON_REQUEST,
    /** one step of synchronous replication: /sync and synchronous_standby_names, in the safe order */
    SYNC,
    /** kill PostgreSQL now: a writable primary without the lock */
    FENCE,
    /** give the lock up (PostgreSQL did not come back within the bound, or a better candidate exists) */
    RELEASE_LOCK,
    /** delete the lock a previous session of ours left behind (our PostgreSQL is not a primary) */
    DELETE_STALE_LOCK;

    /** @return true when the action changes something (as opposed to waiting or refusing again) */
    public boolean acts() {
        return this != NONE && this != WAIT && this != REFUSE;
    }
}
