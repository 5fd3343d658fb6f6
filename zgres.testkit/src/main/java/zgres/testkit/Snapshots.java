package zgres.testkit;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.SyncState;
import zgres.api.Tags;

/** A test fixture: snapshots built by hand, for plugin tests that feed plugins without ZooKeeper. */
public final class Snapshots {
    private Snapshots() {}

    /**
     * A snapshot with one group.
     *
     * @param master the master's node id, or null
     * @param healthy every healthy node with its zone
     */
    public static ClusterSnapshot of(long sequence, String group, String dbId, NodeId master,
            Map<NodeId, String> healthy) {
        TreeMap<NodeId, NodeState> states = new TreeMap<>();
        TreeMap<NodeId, ConnInfo> conns = new TreeMap<>();
        for (Map.Entry<NodeId, String> e : healthy.entrySet()) {
            NodeId id = e.getKey();
            boolean isMaster = id.equals(master);
            states.put(id, new NodeState(id, isMaster ? Role.MASTER : Role.REPLICA, isMaster ? NodePhase.RUNNING
                    : NodePhase.STREAMING, "", List.of(), 1, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, 0, dbId,
                    new Tags(false, 0, e.getValue()), false, Map.of(), Map.of(), Instant.EPOCH));
            conns.put(id, new ConnInfo(id.host(), id.port(), "postgres", e.getValue()));
        }
        GroupState g = new GroupState(group, Optional.ofNullable(master), states, conns, dbId, 1, SyncState.NONE,
                false);
        TreeMap<String, GroupState> groups = new TreeMap<>();
        groups.put(group, g);
        return new ClusterSnapshot(sequence, Instant.EPOCH, groups, List.of());
    }
}
