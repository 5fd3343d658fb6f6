package zgres.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HostNameTest {
    @Test
    void namesAndAddressesAreAccepted() {
        for (String h : new String[] {"127.0.0.1", "db1", "db-1.example.com", "10.0.0.12", "::1", "fe80::1",
                "2001:db8::ff00:42:8329", "::ffff:192.0.2.1", "a"}) {
            assertThat(HostName.isValid(h)).as(h).isTrue();
        }
    }

    @Test
    void anythingThatCouldEscapeAFileOrACommandIsRefused() {
        for (String h : new String[] {"", "db1\n", "db1\nall trust", "db1;shutdown", "all trust #", "db 1",
                "db'1", "db\"1", "a/b", "a_b", "db1\\", "-db1", "db1-", "a..b", "\u0000", "x".repeat(254), ":::1",
                "db1\r", "db1\tx", "host=evil", "db1#"}) {
            assertThat(HostName.isValid(h)).as(HostName.printable(h)).isFalse();
        }
        assertThat(HostName.isValid(null)).isFalse();
    }

    @Test
    void theErrorNamesTheValueWithControlCharactersVisible() {
        assertThatThrownBy(() -> HostName.require("db1\nall all all trust"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid host 'db1\\nall all all trust'");
    }

    @Test
    void nodeIdsAndConnectionInfoValidateTheirHosts() {
        assertThatThrownBy(() -> NodeId.parse("g_db1;x:5432")).hasMessageContaining("invalid host");
        assertThatThrownBy(() -> new ConnInfo("all trust #", 5432, "postgres", "")).hasMessageContaining("invalid host");
        assertThatThrownBy(() -> new ConnInfo("db1", 0, "postgres", "")).hasMessageContaining("invalid port");
        assertThatThrownBy(() -> new ConnInfo("db1", 5432, "postgres\nx", "")).hasMessageContaining("invalid dbname");
        assertThatThrownBy(() -> new ConnInfo("db1", 5432, "postgres", "z 1")).hasMessageContaining("invalid zone");
        assertThat(new ConnInfo("db1", 5432, null, null).dbname()).isEqualTo("postgres");
    }
}
