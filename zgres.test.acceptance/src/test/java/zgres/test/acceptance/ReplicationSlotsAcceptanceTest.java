package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;

/**
 * Replication slots on real processes: the master keeps one per member, replicas stream through theirs, a replica
 * stopped past {@code wal_keep_size} (16 MB here) catches up without a clone, a gone member's slot is dropped after
 * {@code slot_drop_after_s}, and {@code max_slot_wal_keep_size_mb} bounds what a slot may hold back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationSlotsAcceptanceTest {
    static final String GROUP = "slots";
    Group g;

    @BeforeAll
    void start() throws Exception {
        g = new Group(GROUP, 3, Profile.ACCEPTANCE, 1, Map.of("pg_parameters", new String[] {
            "shared_buffers = '16MB'", "max_connections = 40", "wal_keep_size = '16MB'", "max_wal_size = '48MB'",
            "min_wal_size = '32MB'", "checkpoint_timeout = '30s'"}));
        g.start();
    }

    @AfterAll
    void stop() throws Exception {
        if (g != null) {
            g.close();
        }
    }

    @BeforeEach
    void healthy() throws Exception {
        g.awaitHealthy(3, 180_000);
    }

    static String slot(NodeProcess n) {
        return FailoverAcceptanceTest.slot(n);
    }

    NodeProcess master() {
        return g.master().orElseThrow();
    }

    NodeProcess aReplica() {
        NodeProcess m = master();
        return g.nodes().stream().filter(n -> n != m).findFirst().orElseThrow();
    }

    /** About {@code mb} MB of WAL on the master, then a checkpoint (which removes what nothing holds back). */
    static void writeWal(NodeProcess m, int mb) throws SQLException {
        Pg.exec(m.host(), m.port(), "CREATE TABLE IF NOT EXISTS filler (x text)");
        Pg.exec(m.host(), m.port(), "INSERT INTO filler SELECT repeat(md5(g::text), 30) FROM generate_series(1, "
                + mb * 1000 + ") g");
        Pg.exec(m.host(), m.port(), "SELECT pg_switch_wal()");
        Pg.exec(m.host(), m.port(), "CHECKPOINT");
    }

    static long count(NodeProcess n, String needle) {
        try {
            return n.count(needle);
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    @Test
    @Order(1)
    void membersStreamThroughTheSlotsTheMasterKeepsForThem() throws Exception {
        NodeProcess m = master();
        for (NodeProcess r : g.nodes()) {
            if (r != m) {
                g.await(r + " streams through " + slot(r), 30_000, s -> FailoverAcceptanceTest.activeSlots(m)
                        .contains(slot(r)));
                assertThat(Pg.text(r, "SELECT current_setting('primary_slot_name')")).isEqualTo(slot(r));
            }
        }
        assertThat(Pg.text(m, "SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size'"))
                .as("the default bound").isEqualTo("4096");
    }

    @Test
    @Order(2)
    void aReplicaStoppedPastWalKeepSizeCatchesUpThroughItsSlotWithoutAClone() throws Exception {
        NodeProcess m = master();
        NodeProcess r = aReplica();
        Path marker = r.dataDir().resolve("zgres-test-marker");
        Files.writeString(marker, "not cloned");
        String systemId = Pg.text(r, "SELECT system_identifier::text FROM pg_control_system()");
        r.close(); // the whole node: deadman and PostgreSQL
        writeWal(m, 80);
        String status = Pg.text(m, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '" + slot(r) + "'");
        assertThat(status).as("the slot holds back more than wal_keep_size (16 MB): 'extended'").isEqualTo(
                "extended");
        String target = Pg.text(m, "SELECT pg_current_wal_lsn()::text");
        long rows = Long.parseLong(Pg.text(m, "SELECT count(*) FROM filler"));
        long logFrom = Files.size(r.log());
        r.start();
        g.await(r + " caught up with " + target, 120_000, s -> {
            String replay = Pg.text(r, "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn");
            return "t".equals(replay) && FailoverAcceptanceTest.activeSlots(m).contains(slot(r));
        });
        assertThat(Files.exists(marker)).as("the same data directory: no clone").isTrue();
        assertThat(Pg.text(r, "SELECT count(*) FROM filler")).isEqualTo(Long.toString(rows));
        assertThat(Pg.text(r, "SELECT system_identifier::text FROM pg_control_system()")).isEqualTo(systemId);
        assertThat(r.tail(logFrom)).as("no clone in " + r.log()).doesNotContain("clon").doesNotContain(
                "pg_basebackup");
    }

    @Test
    @Order(3)
    void theSlotOfAMemberGoneLongerThanSlotDropAfterIsDroppedAndMadeAgainWhenItReturns() throws Exception {
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "slot_drop_after_s=2").exitCode())
                .isZero();
        NodeProcess m = master();
        NodeProcess r = aReplica();
        long before = m.count("dropped replication slot " + slot(r));
        r.close();
        g.await("the slot of " + r + " dropped", 60_000, s -> Pg.text(m, "SELECT count(*) FROM pg_replication_slots WHERE "
                + "slot_name = '" + slot(r) + "'").equals("0"));
        assertThat(m.count("dropped replication slot " + slot(r) + ": no member of " + GROUP + " has had it for"))
                .isGreaterThan(before);
        r.start();
        g.await(r + " streams through its slot again", 120_000, s -> FailoverAcceptanceTest.activeSlots(m)
                .contains(slot(r)));
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "slot_drop_after_s=1800").exitCode())
                .isZero();
    }

    @Test
    @Order(4)
    void aSlotHoldingBackMoreThanTheBoundIsInvalidatedAndDroppedSoTheMastersDiskStaysBounded() throws Exception {
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "max_slot_wal_keep_size_mb=32").exitCode())
                .isZero();
        NodeProcess m = master();
        g.await("max_slot_wal_keep_size = 32 MB on the master", 30_000, s -> Pg.text(m, "SELECT setting FROM pg_settings "
                + "WHERE name = 'max_slot_wal_keep_size'").equals("32"));
        NodeProcess r = aReplica();
        r.close();
        writeWal(m, 100);
        g.await("the slot of " + r + " invalidated and dropped", 60_000, s -> {
            try {
                Pg.exec(m.host(), m.port(), "CHECKPOINT");
            } catch (SQLException e) {
                return false;
            }
            return count(m, "dropped replication slot " + slot(r) + ": its member " + r.host() + ":" + r.port()
                    + " fell more than max_slot_wal_keep_size = 32 MB behind") > 0
                    || count(m, "dropped replication slot " + slot(r) + ": its member (gone)") > 0;
        });
        long walMb = Long.parseLong(Pg.text(m, "SELECT (sum(size) / 1048576)::bigint FROM pg_ls_waldir()"));
        assertThat(walMb).as("pg_wal on the master (max_wal_size 48 MB + the bound 32 MB + a segment)")
                .isLessThan(48 + 32 + 32);
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "max_slot_wal_keep_size_mb=4096")
                .exitCode()).isZero();
        // without a WAL archive the replica cannot catch up: it says so, and nothing moves its data directory
        Path marker = r.dataDir().resolve("zgres-test-marker");
        Files.writeString(marker, "kept");
        Path pgLog = r.dataDir().resolveSibling(r.dataDir().getFileName() + ".log");
        long from = Files.exists(pgLog) ? Files.size(pgLog) : 0;
        r.start();
        g.await(r + " reports that the WAL it needs is gone", 60_000, s -> {
            try {
                return Files.readString(pgLog).substring((int) from).contains("has already been removed");
            } catch (java.io.IOException e) {
                return false;
            }
        });
        Thread.sleep(2000);
        assertThat(g.state().state(g.id(r)).map(st -> st.phase()).orElseThrow()).isNotEqualTo(
                zgres.api.NodePhase.STREAMING);
        assertThat(Files.exists(marker)).as("its data directory stays where it is").isTrue();
    }
}
