package zgres.deadman.slots;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import zgres.api.NodeId;

class SlotNameTest {
    @Test
    void anAddressBecomesAReadableSlotName() {
        assertThat(SlotName.of(new NodeId("g", "127.0.0.1", 5432))).isEqualTo("zgres_127_0_0_1_5432");
    }

    @Test
    void namesThatLoseCharactersKeepMembersApart() {
        String a = SlotName.of(new NodeId("g", "db-1.example", 5432));
        String b = SlotName.of(new NodeId("g", "db.1.example", 5432));
        assertThat(a).matches("[a-z0-9_]{1,63}").isNotEqualTo(b);
        assertThat(SlotName.of(new NodeId("g", "Db1", 5432))).isNotEqualTo("zgres_db1_5432");
    }

    @Test
    void longHostsAreCutTo63Characters() {
        String n = SlotName.of(new NodeId("g", "a".repeat(60) + ".b" + "c".repeat(20) + ".example.com", 5432));
        assertThat(n).hasSize(63).startsWith(SlotName.PREFIX).matches("[a-z0-9_]+");
        assertThat(SlotName.managed(n)).isTrue();
        assertThat(SlotName.managed("barman")).isFalse();
    }
}
