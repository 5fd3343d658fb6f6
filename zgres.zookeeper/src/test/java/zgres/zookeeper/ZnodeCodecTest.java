package zgres.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import zgres.api.ConnInfo;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.SyncState;
import zgres.api.Tags;

class ZnodeCodecTest {
    static final NodeId ID = NodeId.parse("g_127.0.0.1:5432");

    @Test
    void stateRoundTripsWithLsnsAsTextAndNumber() throws Exception {
        NodeState s = new NodeState(ID, Role.REPLICA, "streaming", "127.0.0.1:5433", List.of(), 3,
                Lsn.parse("1/5000060"), Lsn.parse("1/5000000"), Lsn.ZERO, 96, "7300000000000000001",
                new Tags(true, 7, "eu-1a"), false, Map.of("zgres.deadman", "0.1.0"), Map.of("zone", "eu-1a"),
                Instant.parse("2026-11-25T10:00:00Z"));
        byte[] json = ZnodeCodec.writeState(s);
        var tree = ZnodeCodec.mapper().readTree(json);
        assertThat(tree.get("receive_lsn").asText()).isEqualTo("1/5000060");
        assertThat(tree.get("receive_lsn_num").asLong()).isEqualTo(0x105000060L);
        assertThat(tree.get("role").asText()).isEqualTo("replica");
        assertThat(ZnodeCodec.readState(ID, json)).isEqualTo(s);
    }

    @Test
    void malformedStatesAreRejectedNamingTheField() {
        assertThatThrownBy(() -> ZnodeCodec.readState(ID, "{\"role\":\"king\"}".getBytes()))
                .hasMessageContaining("unknown role 'king'");
        assertThatThrownBy(() -> ZnodeCodec.readState(ID, "{\"role\":\"master\",\"timeline\":\"x\"}".getBytes()))
                .hasMessageContaining("field 'timeline'");
        assertThatThrownBy(() -> ZnodeCodec.readState(ID, "{\"role\":\"master\",\"receive_lsn\":\"5\"}".getBytes()))
                .hasMessageContaining("field 'receive_lsn'");
        assertThatThrownBy(() -> ZnodeCodec.readState(ID, "[1,2]".getBytes())).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> ZnodeCodec.readState(ID, new byte[0])).hasMessageContaining("empty");
        assertThatThrownBy(() -> ZnodeCodec.readState(ID, "{\"role\":\"master\",\"system_id\":\"abc\"}".getBytes()))
                .hasMessageContaining("system_id");
    }

    @Test
    void connLockStaticAndSyncAreValidated() {
        ConnInfo c = new ConnInfo("h", 6432, "app", "z");
        assertThat(ZnodeCodec.readConn(ZnodeCodec.writeConn(c))).isEqualTo(c);
        assertThatThrownBy(() -> ZnodeCodec.readConn("{\"host\":\"h\",\"port\":0}".getBytes()))
                .hasMessageContaining("port");
        assertThat(ZnodeCodec.readLock("g", "10.0.0.1:5432".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo(NodeId.parse("g_10.0.0.1:5432"));
        assertThatThrownBy(() -> ZnodeCodec.readLock("g", "nonsense".getBytes())).hasMessageContaining("nonsense");
        assertThat(ZnodeCodec.readTimeline("12\n".getBytes())).isEqualTo(12);
        assertThatThrownBy(() -> ZnodeCodec.readTimeline("0".getBytes())).hasMessageContaining("timeline");
        SyncState s = new SyncState("g_a:1", List.of("g_b:1"));
        assertThat(ZnodeCodec.readSync(ZnodeCodec.writeSync(s))).isEqualTo(s);
    }
}
