package zgres.deadman.ha;

import java.time.Instant;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.Tags;

/**
 * Everything one cycle of the deadman decides on, taken at one moment and never changed afterwards.
 *
 * @param me this node
 * @param tags this node's tags
 * @param group the group as read from ZooKeeper
 * @param lock who holds the lock
 * @param connected our ZooKeeper session is connected
 * @param leaseValid we hold the lock and the lease confirmed by ZooKeeper has not run out
 * @param local the local PostgreSQL
 * @param lastMasterLsn the furthest position any master of the group published while we watched
 * @param lockFreeForMs how long the lock has been free (0 when held)
 * @param now wall-clock time (scheduled switchovers)
 */
public record Observation(NodeId me, Tags tags, GroupState group, LockOwner lock, boolean connected,
        boolean leaseValid, Local local, Lsn lastMasterLsn, long lockFreeForMs, Instant now) {

    public Observation(NodeId me, Tags tags, GroupState group, LockOwner lock, boolean connected, boolean leaseValid,
            Local local, Lsn lastMasterLsn, long lockFreeForMs) {
        this(me, tags, group, lock, connected, leaseValid, local, lastMasterLsn, lockFreeForMs, Instant.now());
    }
}
