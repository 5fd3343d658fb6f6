package zgres.deadman.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No decision deletes a data directory: a failed one is moved aside, a bounded number of times. */
class DataDirectoryTest {
    @TempDir
    Path base;

    DataDirectory dir(Path data) throws Exception {
        PgNode.Spec spec = new PgNode.Spec("t", "127.0.0.1", 5432, data, "postgres", "postgres", "pw", "replicator",
                "pw", base.resolve("log"), List.of(), List.of());
        return new DataDirectory(spec, new PgTools(Path.of("/usr/lib/postgresql/15/bin"),
                System.getProperty("user.name")), base, null);
    }

    @Test
    void aFailedDataDirectoryIsMovedAsideWithEverythingInItAndAnEmptyOneTakesItsPlace() throws Exception {
        Path data = Files.createDirectories(base.resolve("data"));
        Files.writeString(data.resolve("PG_VERSION"), "15\n");
        Files.createDirectories(data.resolve("base/1"));
        Files.writeString(data.resolve("base/1/1234"), "rows");
        DataDirectory d = dir(data);

        Optional<Path> aside = d.moveAside("pg_rewind failed");

        assertThat(aside).isPresent();
        assertThat(aside.get().getFileName().toString()).startsWith("data.failed-");
        assertThat(Files.readString(aside.get().resolve("base/1/1234"))).isEqualTo("rows");
        assertThat(d.empty()).as("an empty data directory for the clone").isTrue();
        assertThat(d.failedCopies()).containsExactly(aside.get());
    }

    @Test
    void anEmptyDirectoryIsNotMoved() throws Exception {
        DataDirectory d = dir(Files.createDirectories(base.resolve("data")));
        assertThat(d.moveAside("x")).isEmpty();
        assertThat(d.failedCopies()).isEmpty();
    }

    @Test
    void afterTheMostCopiesItRefusesAndChangesNothing() throws Exception {
        Path data = Files.createDirectories(base.resolve("data"));
        for (int i = 0; i < DataDirectory.MAX_FAILED_COPIES; i++) {
            Files.createDirectories(base.resolve("data.failed-2026010" + i + "T000000Z"));
        }
        Files.writeString(data.resolve("PG_VERSION"), "15\n");
        DataDirectory d = dir(data);

        assertThatThrownBy(() -> d.moveAside("repeated failed starts")).hasMessageContaining("not moving")
                .hasMessageContaining(DataDirectory.MAX_FAILED_COPIES + " earlier copies are kept");
        assertThat(Files.readString(data.resolve("PG_VERSION"))).isEqualTo("15\n");
        assertThat(d.failedCopies()).hasSize(DataDirectory.MAX_FAILED_COPIES);
    }
}
