package zgres.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LsnTest {
    @Test
    void parsesAndFormatsPostgresText() {
        Lsn l = Lsn.parse("0/5000060");
        assertThat(l.value()).isEqualTo(0x5000060L);
        assertThat(l.toString()).isEqualTo("0/5000060");
        assertThat(Lsn.parse("16/B374D848").value()).isEqualTo(0x16B374D848L);
        assertThat(Lsn.parse("16/b374d848").toString()).isEqualTo("16/B374D848");
    }

    @Test
    void comparesAsUnsigned64BitNotAsText() {
        // "9/0" > "10/0" as text, but 0x10_00000000 is further
        assertThat(Lsn.parse("10/0")).isGreaterThan(Lsn.parse("9/FFFFFFFF"));
        Lsn top = Lsn.parse("FFFFFFFF/FFFFFFFF");
        assertThat(top.value()).isEqualTo(-1L);
        assertThat(top).isGreaterThan(Lsn.parse("7FFFFFFF/0"));
        assertThat(top.bytesAfter(Lsn.parse("FFFFFFFF/FFFFFFF0"))).isEqualTo(15);
        assertThat(Lsn.ZERO.bytesAfter(top)).isZero();
    }

    @Test
    void rejectsGarbageWithTheValue() {
        assertThatThrownBy(() -> Lsn.parse("5000060")).hasMessageContaining("'5000060'");
        assertThatThrownBy(() -> Lsn.parse("0/zz")).hasMessageContaining("hexadecimal");
        assertThatThrownBy(() -> Lsn.parse("123456789/0")).isInstanceOf(IllegalArgumentException.class);
    }
}
