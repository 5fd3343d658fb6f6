package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import zgres.api.NodePhase;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * Replicas from backups, on a real pgBackRest (Debian's) with a repository every node of the group shares: the
 * master archives WAL and takes backups on demand ({@code zgres:backup}); a new replica is restored from the latest
 * backup while the master takes writes and then streams; a replica whose slot was dropped catches up from the
 * archive; a failover keeps archiving on the new timeline; a node killed during a restore, and a master killed
 * during one, leave no half-restored data directory that anyone starts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PgBackRestAcceptanceTest {
    static final String GROUP = "backrest";
    Group g;
    Path repo;
    NodeProcess n1;
    NodeProcess n2;
    NodeProcess n3;

    @BeforeAll
    void start() throws Exception {
        g = new Group(GROUP, 3, Profile.ACCEPTANCE, 1, Map.of("pg_parameters", new String[] {
            "shared_buffers = '16MB'", "max_connections = 40", "wal_keep_size = '16MB'", "max_wal_size = '48MB'",
            "min_wal_size = '32MB'", "synchronous_commit = on"}, "wal_archive", "pgbackrest", "clone_methods",
            new String[] {"pgbackrest", "basebackup"}));
        repo = g.credentialsDir().getParent().resolve("repo");
        for (NodeProcess n : g.nodes()) {
            n.config("zgres.clone.pgbackrest").putAll(Map.of("repo_path", repo.toString(), "process_max", 2));
        }
        n1 = g.nodes().get(0);
        n2 = g.nodes().get(1);
        n3 = g.nodes().get(2);
        n1.start();
        g.await("the first node to bootstrap", 120_000, s -> s.masterConn().isPresent());
        n2.start(); // no backup yet: pgbackrest fails, basebackup builds it
        g.awaitHealthy(2, 180_000);
    }

    @AfterAll
    void stop() throws Exception {
        if (g != null) {
            g.close();
        }
    }

    NodeProcess master() {
        return g.master().orElseThrow();
    }

    static boolean empty(Path dir) throws java.io.IOException {
        if (!Files.exists(dir)) {
            return true;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    @Order(1)
    void withoutABackupTheNextMethodBuildsTheReplica() throws Exception {
        g.await(n2 + " publishes how it was built", 30_000, s -> !g.metadata(n2, "built_by").isEmpty());
        assertThat(g.metadata(n2, "built_by")).startsWith("basebackup in ").endsWith("(after pgbackrest failed)");
    }

    @Test
    @Order(2)
    void theMasterArchivesWalAndTakesABackupWhenAskedFromTheConsole() throws Exception {
        NodeProcess m = master();
        g.await("archive_command set on the master", 30_000, s -> Pg.text(m, "SHOW archive_command").contains(
                "pgbackrest") && Pg.text(m, "SHOW archive_mode").equals("on"));
        assertThat(Pg.text(n2, "SHOW restore_command")).contains("archive-get");
        Pg.exec(m.host(), m.port(), "CREATE TABLE big AS SELECT g, repeat(md5(g::text), 10) AS x FROM "
                + "generate_series(1, 300000) g");
        Group.CtlResult r = g.ctl("backup", "--wait", "300", GROUP);
        assertThat(r.exitCode()).as(r.out()).isZero();
        assertThat(r.out()).contains("backup ").contains("(full) of stanza " + GROUP + " done in");
        assertThat(Long.parseLong(Pg.text(m, "SELECT archived_count FROM pg_stat_archiver"))).isPositive();
        g.await("the master publishes its newest backup", 30_000, s -> s.state(g.id(m)).map(st -> st.metadata()
                .containsKey("backup")).orElse(false));
        Group.CtlResult list = g.ctl("list", GROUP);
        assertThat(list.out()).contains("newest backup ").contains("built by basebackup");
        Group.CtlResult again = g.ctl("backup", "--type", "weekly", GROUP);
        assertThat(again.exitCode()).isNotZero();
        assertThat(again.out()).contains("must be full, diff or incr");
    }

    @Test
    @Order(3)
    void aReplicaIsRestoredFromTheBackupWhileTheMasterTakesWritesThenStreams() throws Exception {
        try (Workload w = new Workload(List.of(n1, n2, n3))) {
            w.start();
            n3.start();
            g.awaitHealthy(3, 180_000);
            g.await(n3 + " built by pgbackrest", 30_000, s -> g.metadata(n3, "built_by").startsWith("pgbackrest in "));
            long acked = w.ackCount();
            assertThat(w.awaitAckAfter(System.nanoTime(), 10_000)).isTrue();
            NodeProcess m = master();
            String lsn = Pg.text(m, "SELECT pg_current_wal_lsn()::text");
            g.await(n3 + " replayed " + lsn, 60_000, s -> Pg.text(n3, "SELECT pg_last_wal_replay_lsn() >= '" + lsn
                    + "'::pg_lsn").equals("t"));
            assertThat(acked).as("writes went on during the restore").isPositive();
            assertThat(Pg.text(n3, "SELECT count(*) FROM big")).isEqualTo("300000");
            Workload.Result res = w.result(System.nanoTime(), m);
            assertThat(res.maxWritable()).isLessThanOrEqualTo(1);
        }
        assertThat(g.state().state(g.id(n3)).orElseThrow().phase()).isEqualTo(NodePhase.STREAMING);
    }

    @Test
    @Order(4)
    void aReplicaWhoseSlotWasDroppedCatchesUpFromTheArchive() throws Exception {
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "max_slot_wal_keep_size_mb=32").exitCode())
                .isZero();
        NodeProcess m = master();
        NodeProcess r = n3;
        Path marker = r.dataDir().resolve("zgres-test-marker");
        Files.writeString(marker, "not cloned");
        g.await("max_slot_wal_keep_size = 32 MB", 30_000, s -> Pg.text(m, "SELECT setting FROM pg_settings WHERE name = "
                + "'max_slot_wal_keep_size'").equals("32"));
        r.close();
        Pg.exec(m.host(), m.port(), "INSERT INTO big SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, "
                + "100000) g");
        String slot = FailoverAcceptanceTest.slot(r);
        g.await("the slot of " + r + " invalidated", 60_000, s -> {
            try {
                Pg.exec(m.host(), m.port(), "SELECT pg_switch_wal()");
                Pg.exec(m.host(), m.port(), "CHECKPOINT");
            } catch (SQLException e) {
                return false;
            }
            return Pg.text(m, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot + "'").equals("0");
        });
        String lsn = Pg.text(m, "SELECT pg_current_wal_lsn()::text");
        r.start();
        g.await(r + " caught up from the archive and streams", 120_000, s -> Pg.text(r, "SELECT pg_last_wal_replay_lsn() >= '"
                + lsn + "'::pg_lsn").equals("t") && FailoverAcceptanceTest.activeSlots(m).contains(slot));
        assertThat(Files.exists(marker)).as("the same data directory: no clone").isTrue();
        Path pgLog = r.dataDir().resolveSibling(r.dataDir().getFileName() + ".log");
        assertThat(Files.readString(pgLog)).contains("restored log file");
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "max_slot_wal_keep_size_mb=4096")
                .exitCode()).isZero();
    }

    @Test
    @Order(5)
    void aNodeKilledDuringARestoreLeavesNoDataDirectoryAndRestoresAgain() throws Exception {
        g.awaitHealthy(3, 120_000);
        NodeProcess r = n3;
        r.close();
        Path aside = r.dataDir().resolveSibling("n3-before-test5");
        Files.move(r.dataDir(), aside);
        long from = Files.size(r.log());
        r.start();
        g.await(r + " restoring", 60_000, s -> tail(r, from).contains("restoring backup"));
        r.killNode();
        assertThat(empty(r.dataDir())).as("nothing in the data directory after a kill during the restore").isTrue();
        long again = Files.size(r.log());
        r.start();
        g.awaitHealthy(3, 180_000);
        assertThat(tail(r, again)).contains("removing the incomplete build");
        g.await(r + " built by pgbackrest again", 30_000, s -> g.metadata(r, "built_by").startsWith("pgbackrest in "));
    }

    @Test
    @Order(6)
    void killingTheMasterDuringARestoreFailsOverTheRestoredReplicaFollowsAndArchivingGoesOnOnTheNewTimeline()
            throws Exception {
        NodeProcess r = n3;
        r.close();
        Files.move(r.dataDir(), r.dataDir().resolveSibling("n3-before-test6"));
        long from = Files.size(r.log());
        NodeProcess old = master();
        try (Workload w = new Workload(List.of(n1, n2, n3))) {
            w.start();
            r.start();
            g.await(r + " restoring", 60_000, s -> tail(r, from).contains("restoring backup"));
            long fault = System.nanoTime();
            old.killNode();
            NodeProcess m = g.awaitNewMaster(old, 60_000);
            assertThat(w.awaitAckAfter(System.nanoTime(), 30_000)).isTrue();
            g.await(r + " streaming from the new master " + m, 180_000, s -> s.state(g.id(r)).map(st -> st.phase()
                    == NodePhase.STREAMING && st.upstream().equals(m.host() + ":" + m.port())).orElse(false));
            Workload.Result res = w.result(fault, m);
            assertThat(res.violations()).as("probes that saw two writable nodes").isEmpty();
            assertThat(res.maxWritable()).isLessThanOrEqualTo(1);
            assertThat(g.metadata(r, "built_by")).startsWith("pgbackrest in ");
            // the new master archives its timeline's history file and its WAL
            int tl = Integer.parseInt(Pg.text(m, "SELECT timeline_id FROM pg_control_checkpoint()"));
            String history = String.format("%08X.history", tl);
            Pg.exec(m.host(), m.port(), "SELECT pg_switch_wal()");
            g.await(history + " and timeline " + tl + " WAL in the archive", 60_000, s -> {
                try (Stream<Path> files = Files.walk(repo.resolve("archive").resolve(GROUP))) {
                    List<String> names = files.map(p -> p.getFileName().toString()).toList();
                    return names.contains(history) && names.stream().anyMatch(n -> n.startsWith(String.format(
                            "%08X", tl)) && !n.endsWith(".history"));
                } catch (java.io.IOException e) {
                    return false;
                }
            });
        }
        old.start();
        g.awaitHealthy(3, 180_000);
    }

    static String tail(NodeProcess n, long from) {
        try {
            return n.tail(from);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
