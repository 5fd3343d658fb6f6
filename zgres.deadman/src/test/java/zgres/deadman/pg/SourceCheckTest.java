package zgres.deadman.pg;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SourceCheckTest {
    @Test
    void theParentsOfATimelineAreReadFromItsHistoryFile() {
        String history = "1\t0/3000000\tno recovery target specified\n\n2\t0/5000060\tno recovery target specified\n";
        assertThat(SourceCheck.parents(history)).containsExactlyInAnyOrder(1, 2);
        assertThat(SourceCheck.parents("")).isEmpty();
        assertThat(SourceCheck.parents("# comment\nx\t0/1\n")).isEmpty();
    }
}
