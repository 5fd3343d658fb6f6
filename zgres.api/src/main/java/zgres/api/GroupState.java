package zgres.api;

import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.Collections;

/**
 * One database group as seen in ZooKeeper.
 *
 * @param name group name
 * @param master the node named by {@code /lock/{group}}, if any
 * @param states every node's {@code /state}, by node id
 * @param conns every healthy node's {@code /conn}, by node id
 * @param dbId {@code /static/{group}-db-id}, empty when unset
 * @param timeline {@code /static/{group}-timeline}, 0 when unset
 * @param sync {@code /sync/{group}}
 * @param paused whether {@code /pause/{group}} exists
 * @param switchover the pending switchover or manual failover, if any
 */
public record GroupState(String name, Optional<NodeId> master, SortedMap<NodeId, NodeState> states,
        SortedMap<NodeId, ConnInfo> conns, String dbId, long timeline, SyncState sync, boolean paused,
        Optional<Switchover> switchover) {

    public GroupState(String name, Optional<NodeId> master, SortedMap<NodeId, NodeState> states,
            SortedMap<NodeId, ConnInfo> conns, String dbId, long timeline, SyncState sync, boolean paused) {
        this(name, master, states, conns, dbId, timeline, sync, paused, Optional.empty());
    }

    public GroupState {
        states = Collections.unmodifiableSortedMap(new TreeMap<>(states));
        conns = Collections.unmodifiableSortedMap(new TreeMap<>(conns));
        dbId = dbId == null ? "" : dbId;
        sync = sync == null ? SyncState.NONE : sync;
        switchover = switchover == null ? Optional.empty() : switchover;
    }

    /** @return the master's connection information when the master is healthy */
    public Optional<ConnInfo> masterConn() {
        return master.map(conns::get);
    }

    /** @return healthy replicas (nodes with {@code /conn} other than the master), by node id */
    public SortedMap<NodeId, ConnInfo> replicaConns() {
        TreeMap<NodeId, ConnInfo> r = new TreeMap<>(conns);
        master.ifPresent(r::remove);
        return Collections.unmodifiableSortedMap(r);
    }

    public Optional<NodeState> state(NodeId id) {
        return Optional.ofNullable(states.get(id));
    }

    public static GroupState empty(String name) {
        return new GroupState(name, Optional.empty(), new TreeMap<>(), new TreeMap<>(), "", 0, SyncState.NONE, false);
    }

    /** @return a copy with the given states */
    public GroupState withStates(Map<NodeId, NodeState> s) {
        return new GroupState(name, master, new TreeMap<>(s), conns, dbId, timeline, sync, paused, switchover);
    }
}
