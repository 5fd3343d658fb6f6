package zgres.plugin.pgbouncer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import zgres.api.NodeId;
import zgres.testkit.Snapshots;

class PgbouncerSyncTest {
    static final NodeId A = NodeId.parse("db_10.0.0.1:5432");
    static final NodeId B = NodeId.parse("db_10.0.0.2:5432");
    static final NodeId C = NodeId.parse("db_10.0.0.3:5433");

    PgbouncerSync sync(String zone, Set<String> groups) {
        return new PgbouncerSync(new PgbouncerSync.Settings("t", Path.of("/tmp/x.ini"), groups, "-ro", zone,
                "pool_size=5"), () -> {});
    }

    @Test
    void theMasterAndAReplicaInThisZoneAreRouted() {
        Map<NodeId, String> healthy = new LinkedHashMap<>();
        healthy.put(A, "a");
        healthy.put(B, "a");
        healthy.put(C, "b");
        Map<String, String> masters = new LinkedHashMap<>();
        String file = sync("b", Set.of()).render(Snapshots.of(1, "db", "7", A, healthy), masters);
        assertThat(file).contains("[databases]\n")
                .contains("db = host=10.0.0.1 port=5432 dbname=postgres pool_size=5\n")
                .contains("db-ro = host=10.0.0.3 port=5433 dbname=postgres pool_size=5\n");
        assertThat(masters).containsEntry("db", "10.0.0.1:5432");
        String noZone = sync("", Set.of()).render(Snapshots.of(1, "db", "7", A, healthy), new LinkedHashMap<>());
        assertThat(noZone).as("without a zone: node id order").contains("db-ro = host=10.0.0.2 port=5432");
    }

    @Test
    void withoutAMasterOnlyReadOnlyIsRoutedAndWithoutReplicasReadOnlyGoesToTheMaster() {
        String noMaster = sync("", Set.of()).render(Snapshots.of(1, "db", "7", null, Map.of(B, "")),
                new LinkedHashMap<>());
        assertThat(noMaster).doesNotContain("db = ").contains("db-ro = host=10.0.0.2");
        String alone = sync("", Set.of()).render(Snapshots.of(1, "db", "7", A, Map.of(A, "")), new LinkedHashMap<>());
        assertThat(alone).contains("db = host=10.0.0.1").contains("db-ro = host=10.0.0.1");
    }

    @Test
    void groupsOutsideTheConfiguredListAreLeftOut() {
        String none = sync("", Set.of("other")).render(Snapshots.of(1, "db", "7", A, Map.of(A, "")),
                new LinkedHashMap<>());
        assertThat(none).doesNotContain("db");
    }
}
