package zgres.plugin.pghba;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import zgres.api.NodeId;
import zgres.testkit.Snapshots;

class PgHbaSyncTest {
    @TempDir
    Path dir;

    @Test
    void theMembersBlockGoesFirstIsReplacedInPlaceAndNothingElseChanges() throws Exception {
        Path hba = dir.resolve("pg_hba.conf");
        Files.writeString(hba, "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
        PgHbaSync sync = new PgHbaSync(new PgHbaSync.Settings("t", "db", hba, dir, "replicator", "scram-sha-256"));
        sync.apply(Snapshots.of(1, "db", "7", NodeId.parse("db_10.0.0.1:5432"),
                Map.of(NodeId.parse("db_10.0.0.1:5432"), "", NodeId.parse("db_10.0.0.2:5432"), "")));
        String once = Files.readString(hba);
        assertThat(once).startsWith(PgHbaSync.BEGIN + "\nhost replication replicator 10.0.0.1/32 scram-sha-256\n"
                + "host replication replicator 10.0.0.2/32 scram-sha-256\n" + PgHbaSync.END + "\n")
                .endsWith("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
        long modified = Files.getLastModifiedTime(hba).toMillis();
        Thread.sleep(20);
        sync.apply(Snapshots.of(2, "db", "7", NodeId.parse("db_10.0.0.1:5432"),
                Map.of(NodeId.parse("db_10.0.0.1:5432"), "", NodeId.parse("db_10.0.0.2:5432"), "")));
        assertThat(Files.getLastModifiedTime(hba).toMillis()).as("idempotent").isEqualTo(modified);
        sync.apply(Snapshots.of(3, "db", "7", NodeId.parse("db_10.0.0.1:5432"),
                Map.of(NodeId.parse("db_10.0.0.1:5432"), "", NodeId.parse("db_10.0.0.3:5432"), "")));
        String twice = Files.readString(hba);
        assertThat(twice).contains("10.0.0.3/32").doesNotContain("10.0.0.2/32");
        assertThat(twice.split(java.util.regex.Pattern.quote(PgHbaSync.BEGIN), -1)).as("one block").hasSize(2);
        assertThat(twice).endsWith("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    }
}
