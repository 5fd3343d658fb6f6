package zgres.shell.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.api.SyncState;
import zgres.api.Tags;

/** The refusals of the operator commands, each with its reason in words. */
class OperationsTest {
    static final NodeId M = NodeId.parse("g_10.0.0.1:5432");
    static final NodeId A = NodeId.parse("g_10.0.0.2:5432");
    static final NodeId B = NodeId.parse("g_10.0.0.3:5432");

    static NodeState node(NodeId id, Role role, String upstream, long lsn, boolean nofailover) {
        return new NodeState(id, role, role == Role.MASTER ? NodePhase.RUNNING : NodePhase.STREAMING, upstream, List.of(), 1,
                Lsn.of(lsn), Lsn.of(lsn), role == Role.MASTER ? Lsn.of(lsn) : Lsn.ZERO, 0, "1",
                new Tags(nofailover, 0, ""), false, Map.of(), Map.of(), Instant.EPOCH);
    }

    static GroupState group(NodeId master, List<NodeState> nodes, SyncState sync, boolean paused, Switchover sw) {
        TreeMap<NodeId, NodeState> s = new TreeMap<>();
        TreeMap<NodeId, ConnInfo> c = new TreeMap<>();
        for (NodeState n : nodes) {
            s.put(n.id(), n);
            c.put(n.id(), new ConnInfo(n.id().host(), n.id().port(), "postgres", ""));
        }
        return new GroupState("g", Optional.ofNullable(master), s, c, "1", 1, sync, paused, Optional.ofNullable(sw));
    }

    static GroupState healthy(long aLsn, boolean aNofailover, SyncState sync, boolean paused) {
        return group(M, List.of(node(M, Role.MASTER, "", 10_000_000, false),
                node(A, Role.REPLICA, M.address(), aLsn, aNofailover), node(B, Role.REPLICA, M.address(), 10_000_000,
                        false)), sync, paused, null);
    }

    @Test
    void aHealthyCaughtUpReplicaIsAccepted() {
        assertThat(Operations.switchoverRefusal(healthy(10_000_000, false, SyncState.NONE, false), Optional.of(A)))
                .isEmpty();
        assertThat(Operations.switchoverRefusal(healthy(10_000_000, false, SyncState.NONE, false), Optional.empty()))
                .isEmpty();
    }

    @Test
    void everyRefusalSaysWhy() {
        assertThat(Operations.switchoverRefusal(healthy(10_000_000, false, SyncState.NONE, true), Optional.of(A)))
                .hasValueSatisfying(r -> assertThat(r).contains("paused"));
        assertThat(Operations.switchoverRefusal(healthy(1, false, SyncState.NONE, false), Optional.of(A)))
                .hasValueSatisfying(r -> assertThat(r).contains("lagging"));
        assertThat(Operations.switchoverRefusal(healthy(10_000_000, true, SyncState.NONE, false), Optional.of(A)))
                .hasValueSatisfying(r -> assertThat(r).contains("nofailover"));
        assertThat(Operations.switchoverRefusal(healthy(10_000_000, false, SyncState.NONE, false), Optional.of(M)))
                .hasValueSatisfying(r -> assertThat(r).contains("master already"));
        assertThat(Operations.switchoverRefusal(healthy(10_000_000, false, SyncState.NONE, false),
                Optional.of(NodeId.parse("g_10.0.0.9:5432")))).hasValueSatisfying(r -> assertThat(r)
                        .contains("not a member"));
        assertThat(Operations.switchoverRefusal(healthy(10_000_000, false, new SyncState(M.toString(),
                List.of(B.toString())), false), Optional.of(A))).hasValueSatisfying(r -> assertThat(r)
                        .contains("not a synchronous standby"));
        GroupState noMaster = group(null, List.of(node(A, Role.REPLICA, "", 1, false)), SyncState.NONE, false, null);
        assertThat(Operations.switchoverRefusal(noMaster, Optional.of(A)))
                .hasValueSatisfying(r -> assertThat(r).contains("no healthy master").contains("zgres:failover"));
        Switchover pending = new Switchover(Switchover.SWITCHOVER, "", Instant.EPOCH, Instant.EPOCH, false, null, null,
                null);
        GroupState busy = group(M, List.of(node(M, Role.MASTER, "", 1, false)), SyncState.NONE, false, pending);
        assertThat(Operations.switchoverRefusal(busy, Optional.empty()))
                .hasValueSatisfying(r -> assertThat(r).contains("already pending"));
    }

    @Test
    void aManualFailoverToANodeBehindAnotherOrOutsideSyncIsADataLossRisk() {
        GroupState g = group(null, List.of(node(A, Role.REPLICA, "", 100, false), node(B, Role.REPLICA, "", 200,
                false)), SyncState.NONE, false, null);
        assertThat(Operations.dataLossRisks(g, A)).singleElement().asString().contains("10.0.0.3:5432 is 100 bytes ahead");
        assertThat(Operations.dataLossRisks(g, B)).isEmpty();
        GroupState sync = group(null, List.of(node(A, Role.REPLICA, "", 200, false), node(B, Role.REPLICA, "", 200,
                false)), new SyncState(M.toString(), List.of(B.toString())), false, null);
        assertThat(Operations.dataLossRisks(sync, A)).singleElement().asString().contains("synchronous mode");
    }

    @Test
    void nodesAndTimesAreParsedWithClearErrors() {
        assertThat(Operations.node("g", "10.0.0.2:5432")).isEqualTo(A);
        assertThat(Operations.node("g", A.toString())).isEqualTo(A);
        assertThatThrownBy(() -> Operations.node("g", "other_10.0.0.2:5432")).hasMessageContaining("not in group g");
        assertThatThrownBy(() -> Operations.parseTime("tomorrow")).hasMessageContaining("ISO-8601");
        assertThatThrownBy(() -> Operations.group(new ClusterSnapshot(1, Instant.EPOCH, new TreeMap<>(), List.of()),
                "g")).hasMessageContaining("no group 'g'");
    }
}
