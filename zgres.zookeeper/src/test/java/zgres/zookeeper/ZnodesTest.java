package zgres.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import zgres.api.ConnInfo;
import zgres.api.HistoryEntry;
import zgres.api.PauseMarker;
import zgres.api.PromotionPolicy;
import zgres.api.Switchover;
import zgres.api.SyncMode;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.SyncState;
import zgres.api.Tags;

/** The one schema: every znode type round-trips; malformed content is rejected naming the field. */
class ZnodesTest {
    static final NodeId ID = NodeId.parse("g_127.0.0.1:5432");

    @Test
    void stateRoundTripsWithLsnsAsTextAndNumber() throws Exception {
        NodeState s = new NodeState(ID, Role.REPLICA, NodePhase.STREAMING, "127.0.0.1:5433", List.of(), 3,
                Lsn.parse("1/5000060"), Lsn.parse("1/5000000"), Lsn.ZERO, 96, "7300000000000000001",
                new Tags(true, 7, "eu-1a"), false, Map.of("zgres.deadman", "0.1.0"), Map.of("zone", "eu-1a"),
                Instant.parse("2026-11-25T10:00:00Z"));
        byte[] json = Znodes.encode(s);
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        assertThat(tree.get("receive_lsn").asText()).isEqualTo("1/5000060");
        assertThat(tree.get("receive_lsn_num").asLong()).isEqualTo(0x105000060L);
        assertThat(tree.get("role").asText()).isEqualTo("replica");
        assertThat(Znodes.decodeState(ID, json)).isEqualTo(s);
    }

    @Test
    void malformedStatesAreRejectedNamingTheField() {
        assertThatThrownBy(() -> Znodes.decodeState(ID, "{\"role\":\"king\"}".getBytes()))
                .hasMessageContaining("unknown role 'king'");
        assertThatThrownBy(() -> Znodes.decodeState(ID, "{\"role\":\"master\",\"timeline\":\"x\"}".getBytes()))
                .hasMessageContaining("field 'timeline'");
        assertThatThrownBy(() -> Znodes.decodeState(ID, "{\"role\":\"master\",\"receive_lsn\":\"5\"}".getBytes()))
                .hasMessageContaining("field 'receive_lsn'");
        assertThatThrownBy(() -> Znodes.decodeState(ID, "[1,2]".getBytes())).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> Znodes.decodeState(ID, new byte[0])).hasMessageContaining("empty");
        assertThatThrownBy(() -> Znodes.decodeState(ID, "{\"role\":\"master\",\"system_id\":\"abc\"}".getBytes()))
                .hasMessageContaining("system_id");
    }

    @Test
    void connLockStaticAndSyncAreValidated() {
        ConnInfo c = new ConnInfo("h", 6432, "app", "z");
        assertThat(Znodes.decodeConn(Znodes.encode(c))).isEqualTo(c);
        assertThatThrownBy(() -> Znodes.decodeConn("{\"host\":\"h\",\"port\":0}".getBytes()))
                .hasMessageContaining("port");
        assertThat(Znodes.decodeLock("g", "10.0.0.1:5432".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(NodeId.parse("g_10.0.0.1:5432"));
        assertThatThrownBy(() -> Znodes.decodeLock("g", "nonsense".getBytes())).hasMessageContaining("nonsense");
        assertThat(Znodes.decodeTimeline("12\n".getBytes())).isEqualTo(12);
        assertThatThrownBy(() -> Znodes.decodeTimeline("0".getBytes())).hasMessageContaining("timeline");
        SyncState s = new SyncState("g_a:1", List.of("g_b:1"));
        assertThat(Znodes.decodeSync(Znodes.encode(s))).isEqualTo(s);
    }

    @Test
    void switchoverHistoryAndPauseRoundTripWithTheirEnums() {
        Switchover s = new Switchover(Switchover.Kind.FAILOVER, "g_10.0.0.2:5432", Instant.parse(
                "2026-11-25T10:00:00Z"), Instant.parse("2026-11-25T11:00:00Z"), true, Switchover.Stage.HANDOVER,
                "g_10.0.0.1:5432", Lsn.parse("0/3000028"));
        assertThat(Znodes.decodeSwitchover(Znodes.encode(s))).isEqualTo(s);
        assertThatThrownBy(() -> Znodes.decodeSwitchover("{\"type\":\"coup\"}".getBytes()))
                .hasMessageContaining("field 'type'");
        assertThatThrownBy(() -> Znodes.decodeSwitchover("{\"state\":\"done\"}".getBytes()))
                .hasMessageContaining("field 'state'");
        HistoryEntry h = new HistoryEntry(3, Lsn.parse("0/5000060"), "g_10.0.0.1:5432", "g_10.0.0.2:5432",
                HistoryEntry.Cause.SWITCHOVER, Instant.parse("2026-11-25T10:00:00Z"));
        assertThat(Znodes.decodeHistory(Znodes.encode(h))).isEqualTo(h);
        PauseMarker p = new PauseMarker(Instant.parse("2026-11-25T10:00:00Z"));
        assertThat(Znodes.decodePause(Znodes.encode(p))).isEqualTo(p);
        assertThat(Znodes.decodeState(ID, Znodes.encode(new NodeState(ID, Role.MASTER, NodePhase.RUNNING, "",
                List.of(), 1, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, 0, "", Tags.NONE, false, Map.of(), Map.of(), Instant.EPOCH,
                new PromotionPolicy(5000, SyncMode.STRICT)))).policy()).isEqualTo(new PromotionPolicy(5000,
                        SyncMode.STRICT));
    }

    @Test
    void signedOrOverlongPositionsAreNotPositions() {
        assertThatThrownBy(() -> Znodes.decodeState(ID, "{\"role\":\"replica\",\"receive_lsn\":\"0/-1\"}"
                .getBytes())).hasMessageContaining("field 'receive_lsn'").hasMessageContaining("unsigned");
        assertThatThrownBy(() -> Lsn.parse("+1/0")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Lsn.parse("1/123456789")).isInstanceOf(IllegalArgumentException.class);
        assertThat(Lsn.parse("FFFFFFFF/FFFFFFFF").value()).isEqualTo(-1L);
    }
}
