package zgres.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NodeIdTest {
    @Test
    void splitsAtTheLastUnderscoreAndColon() {
        NodeId id = NodeId.parse("my-db.eu_10.0.0.1:5432");
        assertThat(id.group()).isEqualTo("my-db.eu");
        assertThat(id.host()).isEqualTo("10.0.0.1");
        assertThat(id.port()).isEqualTo(5432);
        assertThat(id.toString()).isEqualTo("my-db.eu_10.0.0.1:5432");
        assertThat(id.address()).isEqualTo("10.0.0.1:5432");
    }

    @Test
    void ipv6HostsSplitAtTheLastColon() {
        NodeId id = NodeId.ofAddress("g", "::1:6543");
        assertThat(id.host()).isEqualTo("::1");
        assertThat(id.port()).isEqualTo(6543);
    }

    @Test
    void rejectsInvalidGroupsWithAClearMessage() {
        assertThatThrownBy(() -> GroupName.require("bad_group")).hasMessageContaining("'bad_group'")
                .hasMessageContaining("[A-Za-z0-9][A-Za-z0-9.-]*");
        assertThatThrownBy(() -> GroupName.require("-x")).isInstanceOf(IllegalArgumentException.class);
        assertThat(GroupName.isValid("a.b-c9")).isTrue();
        assertThatThrownBy(() -> NodeId.parse("nogroup")).hasMessageContaining("{group}_{host}:{port}");
        assertThatThrownBy(() -> NodeId.parse("g_host:99999")).hasMessageContaining("99999");
        assertThatThrownBy(() -> NodeId.parse("g_host:")).hasMessageContaining("{host}:{port}");
    }
}
