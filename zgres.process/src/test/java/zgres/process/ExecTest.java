package zgres.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ExecTest {
    @Test
    void aProgramWritingMoreThanAPipeHoldsFinishesAndKeepsTheTail() throws Exception {
        // 200 kB of output: a caller that waited before reading would block on the full pipe until the timeout
        long t0 = System.nanoTime();
        Exec.Result r = Exec.run(List.of("sh", "-c", "i=0; while [ $i -lt 4000 ]; do echo line-$i-"
                + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; echo last"), Map.of(), Duration
                        .ofSeconds(20));
        assertThat(r.ok()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(15));
        assertThat(r.output()).endsWith("last").doesNotContain("line-0-");
        assertThat(r.output().split("\n")).hasSize(Exec.TAIL_LINES);
    }

    @Test
    void aProgramThatDoesNotFinishIsKilledAtItsTimeout() throws Exception {
        Exec.Result r = Exec.run(List.of("sleep", "30"), Map.of(), Duration.ofMillis(300));
        assertThat(r.timedOut()).isTrue();
        assertThat(r.ok()).isFalse();
        assertThat(r.describe()).contains("sleep 30 timed out");
    }

    @Test
    void aFailureCarriesTheExitCodeAndTheOutput() {
        assertThatThrownBy(() -> Exec.require(List.of("sh", "-c", "echo broken >&2; exit 3"), Map.of(),
                Duration.ofSeconds(5))).isInstanceOf(IOException.class).hasMessageContaining("exited with 3")
                .hasMessageContaining("broken");
    }

    @Test
    void onlyWellFormedSignalNamesAreSent() {
        assertThatThrownBy(() -> Signals.send(1, "HUP; rm")).isInstanceOf(IllegalArgumentException.class);
    }
}
