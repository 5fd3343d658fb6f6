package zgres.api;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

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
 * @param lock the lock znode with its owner session (its holder is {@code master})
 */
public record GroupState(String name, Optional<NodeId> master, SortedMap<NodeId, NodeState> states,
        SortedMap<NodeId, ConnInfo> conns, String dbId, long timeline, SyncState sync, boolean paused,
        Optional<Switchover> switchover, Optional<MasterLock> lock) {

    public GroupState(String name, Optional<NodeId> master, SortedMap<NodeId, NodeState> states,
            SortedMap<NodeId, ConnInfo> conns, String dbId, long timeline, SyncState sync, boolean paused) {
        this(name, master, states, conns, dbId, timeline, sync, paused, Optional.empty(), Optional.empty());
    }

    public GroupState(String name, Optional<NodeId> master, SortedMap<NodeId, NodeState> states,
            SortedMap<NodeId, ConnInfo> conns, String dbId, long timeline, SyncState sync, boolean paused,
            Optional<Switchover> switchover) {
        this(name, master, states, conns, dbId, timeline, sync, paused, switchover, Optional.empty());
    }

    public GroupState {
        GroupName.require(name);
        master = master == null ? Optional.empty() : master;
        lock = lock == null ? Optional.empty() : lock;
        if (lock.isPresent()) {
            master = Optional.of(lock.get().holder());
        } else {
            lock = master.map(MasterLock::of);
        }
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

    /** @return the master's published state when it runs as master */
    public Optional<NodeState> masterState() {
        return master.flatMap(this::state).filter(s -> s.role() == Role.MASTER);
    }

    public static GroupState empty(String name) {
        return new GroupState(name, Optional.empty(), new TreeMap<>(), new TreeMap<>(), "", 0, SyncState.NONE, false);
    }

    /** @return a copy with the given states */
    public GroupState withStates(Map<NodeId, NodeState> s) {
        return new GroupState(name, master, new TreeMap<>(s), conns, dbId, timeline, sync, paused, switchover, lock);
    }

    /** @return a copy whose lock names {@code holder} (a master that knows it holds the lock before the cache does) */
    public GroupState withMaster(NodeId holder) {
        return new GroupState(name, Optional.of(holder), states, conns, dbId, timeline, sync, paused, switchover,
                Optional.of(MasterLock.of(holder)));
    }

    /**
     * @return a copy in which {@code s} replaces its node's state, with {@code conn} as its connection (a node that
     *         looks at itself with fresher eyes than its published state)
     */
    public GroupState withNode(NodeState s, Optional<ConnInfo> conn) {
        TreeMap<NodeId, NodeState> st = new TreeMap<>(states);
        st.put(s.id(), s);
        TreeMap<NodeId, ConnInfo> c = new TreeMap<>(conns);
        conn.ifPresentOrElse(x -> c.put(s.id(), x), () -> c.remove(s.id()));
        return new GroupState(name, master, st, c, dbId, timeline, sync, paused, switchover, lock);
    }
}
