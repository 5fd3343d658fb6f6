package zgres.plugin.apply;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import zgres.api.NodeId;
import zgres.testkit.Snapshots;

class ApplySyncTest {
    static final NodeId A = NodeId.parse("db_10.0.0.1:5432");
    static final NodeId B = NodeId.parse("db_10.0.0.2:5432");

    @TempDir
    Path dir;

    Path script(String body) throws Exception {
        Path s = dir.resolve("hook-" + System.nanoTime() + ".sh");
        Files.writeString(s, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(s, PosixFilePermissions.fromString("rwxr-xr-x"));
        return s;
    }

    @Test
    void theFileHoldsMastersAndHealthyNodesAndTheExecutablesRunInOrderOnlyWhenItChanges() throws Exception {
        Path out = dir.resolve("calls.txt");
        Path first = script("echo first $1 >> " + out);
        Path second = script("echo second >> " + out);
        Path file = dir.resolve("databases.json");
        ApplySync sync = new ApplySync(new ApplySync.Settings("t", file, List.of(first.toString(), second.toString()),
                10_000));
        sync.apply(Snapshots.of(1, "db", "7", A, Map.of(A, "z1", B, "z2")));
        JsonNode json = new ObjectMapper().readTree(file.toFile());
        assertThat(json.get("masters").get("db").asText()).isEqualTo("db_10.0.0.1:5432");
        assertThat(json.get("healthy").get("db_10.0.0.2:5432").get("zone").asText()).isEqualTo("z2");
        assertThat(json.get("groups").get("db").get("master").get("port").asInt()).isEqualTo(5432);
        assertThat(json.get("groups").get("db").get("replicas")).hasSize(1);
        assertThat(Files.readAllLines(out)).containsExactly("first " + file, "second");
        sync.apply(Snapshots.of(2, "db", "7", A, Map.of(A, "z1", B, "z2")));
        assertThat(Files.readAllLines(out)).as("same content: nothing runs").hasSize(2);
        sync.apply(Snapshots.of(3, "db", "7", B, Map.of(A, "z1", B, "z2")));
        assertThat(Files.readAllLines(out)).hasSize(4);
    }

    @Test
    void aFailingExecutableIsReportedWithItsExitCodeAndOutputAndRetried() throws Exception {
        Path fail = script("echo broken pipe to the proxy; exit 3");
        ApplySync sync = new ApplySync(new ApplySync.Settings("t", dir.resolve("d.json"), List.of(fail.toString()),
                10_000));
        assertThatThrownBy(() -> sync.apply(Snapshots.of(1, "db", "7", A, Map.of(A, ""))))
                .hasMessageContaining("exited with 3").hasMessageContaining("broken pipe to the proxy");
        assertThatThrownBy(() -> sync.apply(Snapshots.of(1, "db", "7", A, Map.of(A, ""))))
                .as("not marked applied: the retry runs it again").hasMessageContaining("exited with 3");
    }

    @Test
    void anExecutableWritingMoreThanAPipeHoldsIsNotStuckUntilItsTimeout() throws Exception {
        // ~200 kB on stdout: read only after the exit, the pipe (64 kB) fills and the executable blocks
        Path chatty = script("i=0; while [ $i -lt 4000 ]; do echo line $i of a chatty hook xxxxxxxxxxxxxxxxxxxxxxxxx; "
                + "i=$((i+1)); done");
        ApplySync sync = new ApplySync(new ApplySync.Settings("t", dir.resolve("c.json"), List.of(chatty.toString()),
                20_000));
        long t0 = System.nanoTime();
        sync.apply(Snapshots.of(1, "db", "7", A, Map.of(A, "")));
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - t0)).as("finished, not timed out")
                .isLessThan(java.time.Duration.ofSeconds(15));
    }
}
