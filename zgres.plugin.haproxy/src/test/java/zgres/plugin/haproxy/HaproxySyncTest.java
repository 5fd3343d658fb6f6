package zgres.plugin.haproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.testkit.Snapshots;

class HaproxySyncTest {
    static final NodeId A = NodeId.parse("db_10.0.0.1:5432");
    static final NodeId B = NodeId.parse("db_10.0.0.2:5432");
    static final NodeId C = NodeId.parse("db_10.0.0.3:5432");

    HaproxySync sync(String zone) {
        return new HaproxySync(new HaproxySync.Settings("t", Path.of("/tmp/h"), "127.0.0.1",
                Map.of("db", new HaproxySync.Ports(6001, 6002)), 2, zone, "zone", 100, 10, "haproxy", false));
    }

    @Test
    void everyGroupHasARwListenWithOneSlotNoRetryAndAnRoListenWithSlotsThatRedispatch() {
        String cfg = sync("").render();
        assertThat(cfg).contains("stats socket /tmp/h/haproxy.sock mode 600 level admin")
                .contains("listen db-rw\n    bind 127.0.0.1:6001\n    retries 0\n    server s1 127.0.0.1:1 disabled\n")
                .contains("listen db-ro\n    bind 127.0.0.1:6002\n    balance leastconn\n    option redispatch 1\n")
                .contains("    server s2 127.0.0.1:1 disabled\n");
    }

    @Test
    void replicasInThisZoneComeFirstAndWeighMore() {
        Map<NodeId, String> healthy = new LinkedHashMap<>();
        healthy.put(A, "a");
        healthy.put(B, "a");
        healthy.put(C, "b");
        GroupState g = Snapshots.of(1, "db", "7", A, healthy).group("db").orElseThrow();
        List<HaproxySync.Slot> ro = sync("b").readOnly(g);
        assertThat(ro).extracting(HaproxySync.Slot::address).containsExactly("10.0.0.3", "10.0.0.2");
        assertThat(ro).extracting(HaproxySync.Slot::weight).containsExactly(100, 10);
        GroupState alone = Snapshots.of(1, "db", "7", A, Map.of(A, "")).group("db").orElseThrow();
        assertThat(sync("").readOnly(alone)).extracting(HaproxySync.Slot::address).containsExactly("10.0.0.1");
    }

    @Test
    void portsAreParsedWithClearErrors() {
        assertThat(HaproxyComponent.parsePorts("t", new String[] {"db=6001,6002"}))
                .containsEntry("db", new HaproxySync.Ports(6001, 6002));
        assertThatThrownBy(() -> HaproxyComponent.parsePorts("t", new String[] {"db=6001"}))
                .hasMessageContaining("'db=6001'").hasMessageContaining("group=rw_port,ro_port");
        assertThatThrownBy(() -> HaproxyComponent.parsePorts("t", new String[] {"bad_g=1,2"}))
                .hasMessageContaining("invalid group name");
        assertThatThrownBy(() -> HaproxyComponent.parsePorts("t", new String[] {"db=1,99999"}))
                .hasMessageContaining("out of range");
    }
}
