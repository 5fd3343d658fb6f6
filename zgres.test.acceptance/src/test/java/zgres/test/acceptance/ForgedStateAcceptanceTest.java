package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Switchover;
import zgres.testkit.Group;
import zgres.testkit.Identities;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Workload;
import zgres.zookeeper.Znodes;

/**
 * What the group does when what it reads from ZooKeeper is wrong anyway: an attacker client with the operator's full
 * write access forges znodes while the writer and the 100 ms writability probe run. For each case: no lagging or
 * {@code nofailover} node promoted, no data directory deleted, at most one writable node at every probe, a writable
 * master again, and a log line saying what was refused and why.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ForgedStateAcceptanceTest {
    static final Profile TEST = Profile.ACCEPTANCE;
    static final String GROUP = "forged";

    Group g;
    CuratorFramework attacker;
    Workload w;
    long faultAt;
    String episode;

    @BeforeAll
    void start() throws Exception {
        g = new Group(GROUP, 3, TEST, 1, Map.of("maximum_lag_on_failover", 1048576));
        g.start();
        attacker = g.identities().client(Identities.Role.OPERATOR, g.zookeeper().connectString(), g.paths());
        attacker.start();
        assertThat(attacker.blockUntilConnected(20, TimeUnit.SECONDS)).isTrue();
    }

    @AfterAll
    void stop() throws Exception {
        if (attacker != null) {
            attacker.close();
        }
        if (g != null) {
            g.close();
        }
    }

    @BeforeEach
    void healthyGroupAndWorkload(TestInfo info) throws Exception {
        episode = info.getTestMethod().orElseThrow().getName();
        for (NodeProcess n : g.nodes()) {
            if (!n.alive()) {
                n.start();
            }
        }
        g.awaitHealthy(3, 180_000);
        w = new Workload(g.nodes());
        w.start();
        assertThat(w.awaitAckAfter(System.nanoTime(), 20_000)).as("the writer works before the fault").isTrue();
        Thread.sleep(500);
    }

    @AfterEach
    void closeWorkload() {
        if (w != null) {
            w.close();
        }
    }

    NodeProcess master() {
        return g.master().orElseThrow();
    }

    String lockPath() {
        return g.paths().lock(GROUP);
    }

    /** At most one writable node at every probe, writes succeed again; prints the figures. */
    Workload.Result finish(NodeProcess finalMaster) throws Exception {
        assertThat(w.awaitAckAfter(System.nanoTime(), 30_000)).as("writes succeed again").isTrue();
        Thread.sleep(300);
        Workload.Result r = w.result(faultAt, finalMaster);
        System.out.printf("{\"episode\":\"%s\",\"unavailable_s\":%.3f,\"max_write_gap_s\":%.3f,\"acked\":%d,"
                + "\"lost_acked_writes\":%d,\"max_writable_masters\":%d,\"final_master\":\"%s\"}%n", episode,
                r.unavailableS(), r.maxWriteGapS(), r.acked(), r.lost(), r.maxWritable(), r.finalMaster());
        assertThat(r.violations()).as("probes that saw two writable nodes").isEmpty();
        assertThat(r.maxWritable()).isLessThanOrEqualTo(1);
        return r;
    }

    boolean logSays(NodeProcess n, String text) throws Exception {
        return Files.readString(n.log()).contains(text);
    }

    void awaitLog(NodeProcess n, String text, long ms) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (System.nanoTime() < deadline) {
            if (logSays(n, text)) {
                return;
            }
            Thread.sleep(100);
        }
        assertThat(Files.readString(n.log())).as(n + "'s log").contains(text);
    }

    /** No data directory was moved away or emptied: each still holds a cluster and nothing was moved aside. */
    void noDataDirectoryTouched() throws Exception {
        for (NodeProcess n : g.nodes()) {
            assertThat(n.dataDir().resolve("PG_VERSION")).as(n + "'s data directory").exists();
            try (var s = Files.list(n.dataDir().getParent())) {
                assertThat(s.map(p -> p.getFileName().toString()).filter(x -> x.contains(".failed-")).toList())
                        .as("moved-aside copies").isEmpty();
            }
        }
    }

    @Test
    @Order(1)
    void aLockRewrittenWithItsOwnBytesOrWithGarbageLeavesTheMasterServing() throws Exception {
        NodeProcess m = master();
        long postmaster = m.postmasterPid().orElseThrow();
        faultAt = System.nanoTime();
        byte[] same = attacker.getData().forPath(lockPath());
        attacker.setData().forPath(lockPath(), same);
        Thread.sleep(TEST.sessionTimeoutMs());
        attacker.setData().forPath(lockPath(), "garbage\n;all trust #".getBytes(StandardCharsets.UTF_8));
        Thread.sleep(TEST.sessionTimeoutMs());
        assertThat(m.postmasterPid()).as("the master was never fenced").contains(postmaster);
        assertThat(master()).as("the master holds its lock by its session").isEqualTo(m);
        assertThat(g.state().masterConn()).as("clients are still routed to it")
                .contains(new ConnInfo(m.host(), m.port(), "postgres", g.state().masterConn().map(ConnInfo::zone)
                        .orElse("")));
        Workload.Result r = finish(m);
        assertThat(r.maxWriteGapS()).as("writes never stopped").isLessThan(1.0);
        awaitLog(m, "was rewritten by another client", 5000);
        noDataDirectoryTouched();
    }

    @Test
    @Order(2)
    void aLockDeletedAndRecreatedByAnotherSessionGivesAWritableMasterAgainAfterAnElection() throws Exception {
        NodeProcess m = master();
        faultAt = System.nanoTime();
        Stat before = attacker.checkExists().forPath(lockPath());
        attacker.delete().forPath(lockPath());
        attacker.create().withMode(CreateMode.EPHEMERAL).forPath(lockPath(), Znodes.encodeLock(g.id(m)));
        GroupState s = g.await("a deadman's lock again", 60_000, x -> x.lock().filter(l -> !l.holderUnknown()
                && l.created() > before.getCzxid() && x.masterConn().isPresent()).isPresent());
        NodeProcess n = g.nodes().stream().filter(x -> g.id(x).equals(s.master().orElseThrow())).findFirst()
                .orElseThrow();
        double leaderS = (System.nanoTime() - faultAt) / 1e9;
        System.out.printf("{\"episode\":\"%s\",\"new_lock_s\":%.3f}%n", episode, leaderS);
        finish(n);
        boolean deleted = g.nodes().stream().anyMatch(x -> {
            try {
                return logSays(x, "which publishes no node state");
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(deleted).as("a deadman said why it deleted the foreign lock").isTrue();
        noDataDirectoryTouched();
    }

    /**
     * The lock deleted while its master's deadman is frozen: the master's PostgreSQL keeps taking writes until its
     * lease runs out (nothing in the frozen JVM fences it), so the candidates wait for that lease (its /state still
     * says master with the session that held the lock) instead of promoting a second writable master.
     */
    @Test
    @Order(2)
    void aLockDeletedUnderAFrozenMasterMakesNoSecondMasterWhileItsLeaseRuns() throws Exception {
        NodeProcess m = master();
        NodeProcess n;
        m.freeze();
        try {
            faultAt = System.nanoTime();
            attacker.delete().forPath(lockPath());
            n = g.awaitNewMaster(m, 60_000);
            // stay frozen until the new master takes writes: a thawed deadman would fence its PostgreSQL at once
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!zgres.testkit.Pg.writable(n.host(), n.port()) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            System.out.printf("{\"episode\":\"%s\",\"new_master_writable_s\":%.3f,\"lease_s\":%.3f}%n",
                    episode, (System.nanoTime() - faultAt) / 1e9, TEST.sessionTimeoutMs() * 2 / 3 / 1000.0);
            Thread.sleep(500);
        } finally {
            m.thaw();
        }
        finish(n);
        boolean waited = g.nodes().stream().anyMatch(x -> {
            try {
                return logSays(x, "still publishes itself as master with the session that held the lock");
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(waited).as("a candidate said it waits for the former master's lease").isTrue();
        g.await(m + " following " + n, 120_000, x -> x.state(g.id(m)).map(st -> st.phase() == zgres.api.NodePhase
                .STREAMING).orElse(false));
        noDataDirectoryTouched();
    }

    @Test
    @Order(3)
    void aForgedHandoverToANofailoverNodeIsRefusedByThatNode() throws Exception {
        NodeProcess m = master();
        NodeProcess tagged = g.nodes().stream().filter(x -> x != m).findFirst().orElseThrow();
        w.stop();
        tagged.set("nofailover", true);
        tagged.terminate(30_000);
        tagged.start();
        g.awaitHealthy(3, 120_000);
        g.await("the nofailover tag published", 30_000, x -> x.state(g.id(tagged)).map(st -> st.tags().nofailover())
                .orElse(false));
        w = new Workload(g.nodes());
        w.start();
        assertThat(w.awaitAckAfter(System.nanoTime(), 20_000)).isTrue();
        try {
            forgeHandover(master(), tagged, Lsn.parse("0/1"));
            GroupState s = g.await("a new master", 60_000, x -> x.masterConn().isPresent()
                    && !x.master().orElseThrow().equals(g.id(tagged)));
            NodeProcess n = g.nodes().stream().filter(x -> g.id(x).equals(s.master().orElseThrow())).findFirst()
                    .orElseThrow();
            finish(n);
            assertThat(g.lockChanges()).as("the nofailover node never held the lock")
                    .noneMatch(c -> c.holder().equals(tagged.host() + ":" + tagged.port()));
            awaitLog(tagged, "refused here", 5000);
            noDataDirectoryTouched();
        } finally {
            w.stop();
            tagged.set("nofailover", false);
            tagged.terminate(30_000);
            tagged.start();
        }
    }

    @Test
    @Order(4)
    void aForgedHandoverToALaggingNodeIsRefusedByThatNode() throws Exception {
        NodeProcess m = master();
        NodeProcess lagging = g.nodes().stream().filter(x -> x != m).findFirst().orElseThrow();
        long receiver = FailoverAcceptanceTest.walReceiverPid(lagging).orElseThrow();
        FailoverAcceptanceTest.ProcessSignals.signal("STOP", receiver);
        try {
            Pg.exec(m.host(), m.port(), "CREATE TABLE IF NOT EXISTS filler (x text)");
            Pg.exec(m.host(), m.port(), "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 8000)");
            g.await("the master publishing its position", 30_000, s -> s.state(g.id(m)).map(NodeState::bestLsn)
                    .map(l -> l.bytesAfter(s.state(g.id(lagging)).map(NodeState::bestLsn).orElseThrow()) > 2_000_000)
                    .orElse(false));
            forgeHandover(m, lagging, Lsn.parse("0/1"));
            GroupState s = g.await("a new master", 60_000, x -> x.masterConn().isPresent()
                    && !x.master().orElseThrow().equals(g.id(lagging)));
            NodeProcess n = g.nodes().stream().filter(x -> g.id(x).equals(s.master().orElseThrow())).findFirst()
                    .orElseThrow();
            assertThat(n).as("not the lagging node").isNotEqualTo(lagging);
            FailoverAcceptanceTest.ProcessSignals.signal("CONT", receiver);
            Workload.Result r = finish(n);
            assertThat(g.lockChanges()).as("the lagging node never held the lock")
                    .noneMatch(c -> c.holder().equals(lagging.host() + ":" + lagging.port()));
            awaitLog(lagging, "refused here", 5000);
            Group.CtlResult ls = g.ctl("switchovers");
            assertThat(ls.out()).as("zgres:switchovers lists the refusal").contains("Refused requests")
                    .contains(lagging.host() + ":" + lagging.port()).contains("refused here");
            noDataDirectoryTouched();
            System.out.printf("{\"episode\":\"%s\",\"lost_acked_writes\":%d}%n", episode, r.lost());
        } finally {
            FailoverAcceptanceTest.ProcessSignals.signal("CONT", receiver);
        }
    }

    @Test
    @Order(5)
    void hostsThatCouldInjectLinesAreIgnoredWithTheReason() throws Exception {
        NodeProcess m = master();
        String evil = GROUP + "_10.9.9.9:5432";
        // a /conn whose content names another host than its node id (and one that would inject a line)
        attacker.create().withMode(CreateMode.EPHEMERAL).forPath(g.paths().conn(NodeId.parse(evil)),
                "{\"host\":\"all trust #\",\"port\":5432,\"dbname\":\"postgres\"}".getBytes(StandardCharsets.UTF_8));
        // node ids with a newline or ';' in their host
        attacker.create().withMode(CreateMode.EPHEMERAL).forPath(g.paths().root() + "/conn/" + GROUP
                + "_db1;shutdown:5432", "{}".getBytes(StandardCharsets.UTF_8));
        // (ZooKeeper refuses control characters in paths: a newline can only come in content)
        attacker.create().withMode(CreateMode.EPHEMERAL).forPath(g.paths().conn(NodeId.parse(GROUP
                + "_10.9.9.6:5432")), "{\"host\":\"10.9.9.6\\nhost all all 0.0.0.0/0 trust\",\"port\":5432}"
                        .getBytes(StandardCharsets.UTF_8));
        // a persistent fake state with the highest position (not a running deadman's)
        NodeState real = g.state().state(g.id(m)).orElseThrow();
        attacker.create().forPath(g.paths().state(NodeId.parse(GROUP + "_10.9.9.8:5432")),
                Znodes.encode(new NodeState(NodeId.parse(GROUP + "_10.9.9.8:5432"), zgres.api.Role.REPLICA,
                        zgres.api.NodePhase.STREAMING, m.host() + ":" + m.port(), List.of(), real.timeline(),
                        Lsn.parse("FF/0"), Lsn.parse("FF/0"), Lsn.ZERO, 0, real.systemId(), real.tags(), false,
                        Map.of(), Map.of(), Instant.now())));
        faultAt = System.nanoTime();
        Thread.sleep(2000);
        GroupState s = g.state();
        assertThat(s.conns().keySet()).as("only the real nodes are routable").containsExactlyInAnyOrderElementsOf(
                g.nodes().stream().map(g::id).toList());
        assertThat(s.states().keySet()).doesNotContain(NodeId.parse(GROUP + "_10.9.9.8:5432"));
        assertThat(master()).isEqualTo(m);
        for (NodeProcess n : g.nodes()) {
            String hba = Files.readString(n.dataDir().resolve("pg_hba.conf"));
            assertThat(hba).doesNotContain("10.9.9.9").doesNotContain("shutdown");
        }
        awaitLog(m, "not ephemeral", 5000);
        finish(m);
        attacker.delete().forPath(g.paths().state(NodeId.parse(GROUP + "_10.9.9.8:5432")));
    }

    @Test
    @Order(6)
    void aChangedDbIdStopsNobodyServingAndIsReported() throws Exception {
        NodeProcess m = master();
        long postmaster = m.postmasterPid().orElseThrow();
        String path = g.paths().dbId(GROUP);
        byte[] original = attacker.getData().forPath(path);
        faultAt = System.nanoTime();
        attacker.setData().forPath(path, Znodes.encodeDbId("1234567890123456789"));
        try {
            Thread.sleep(3 * TEST.sessionTimeoutMs());
            assertThat(m.postmasterPid()).as("the master kept serving").contains(postmaster);
            assertThat(master()).isEqualTo(m);
            assertThat(g.state().masterConn()).as("and stays routable").isPresent();
            finish(m);
            awaitLog(m, "the db-id was changed", 5000);
        } finally {
            attacker.setData().forPath(path, original);
        }
        noDataDirectoryTouched();
    }

    @Test
    @Order(7)
    void aLockAndConnPointingAtAForeignPostgresAreRefusedAndNothingIsCopiedFromIt() throws Exception {
        NodeProcess m = master();
        java.nio.file.Path dir = Files.createTempDirectory("zgres-foreign-");
        String user = zgres.testkit.OsUser.runtimeUser();
        zgres.testkit.OsUser.own(dir, user);
        java.nio.file.Path data = dir.resolve("data");
        int port = Group.freePort();
        run(user, "/usr/lib/postgresql/15/bin/initdb", "-D", data.toString(), "-U", "postgres", "--auth=trust");
        run(user, "/usr/lib/postgresql/15/bin/pg_ctl", "-D", data.toString(), "-l", dir.resolve("log").toString(),
                "-w", "-o", "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1", "start");
        try {
            String dbId = g.state().dbId();
            NodeId fake = new NodeId(GROUP, "127.0.0.1", port);
            NodeState real = g.state().state(g.id(m)).orElseThrow();
            // the attacker's own session: a master state with a higher timeline, its /conn, and the lock
            CuratorFramework forger = g.identities().client(Identities.Role.OPERATOR, g.zookeeper().connectString(),
                    g.paths());
            forger.start();
            assertThat(forger.blockUntilConnected(20, TimeUnit.SECONDS)).isTrue();
            try {
                forger.create().withMode(CreateMode.EPHEMERAL).forPath(g.paths().state(fake), Znodes.encode(
                        new NodeState(fake, zgres.api.Role.MASTER, zgres.api.NodePhase.RUNNING, "", List.of(), 99,
                                Lsn.parse("FF/0"), Lsn.parse("FF/0"), Lsn.parse("FF/0"), 0, dbId, real.tags(), false,
                                Map.of(), Map.of(), Instant.now())));
                forger.create().withMode(CreateMode.EPHEMERAL).forPath(g.paths().conn(fake), Znodes.encode(
                        new ConnInfo("127.0.0.1", port, "postgres", "")));
                faultAt = System.nanoTime();
                forger.delete().forPath(lockPath());
                forger.create().withMode(CreateMode.EPHEMERAL).forPath(lockPath(), Znodes.encodeLock(fake));
                GroupState s = g.await("a real node's lock again", 90_000, x -> x.lock().filter(l -> !l.holderUnknown()
                        && !l.holder().equals(fake)).isPresent() && x.masterConn().isPresent());
                NodeProcess n = g.nodes().stream().filter(x -> g.id(x).equals(s.master().orElseThrow())).findFirst()
                        .orElseThrow();
                System.out.printf("{\"episode\":\"%s\",\"real_master_again_s\":%.3f}%n", episode,
                        (System.nanoTime() - faultAt) / 1e9);
                finish(n);
                boolean refused = g.nodes().stream().anyMatch(x -> {
                    try {
                        // the old master's rewind check (as the superuser) finds another system identifier; a
                        // follower's IDENTIFY_SYSTEM (as the replication role) may be refused first
                        return logSays(x, "differs from the group's db-id " + dbId)
                                || logSays(x, "not this group's server; treating its lock as nobody's");
                    } catch (Exception e) {
                        return false;
                    }
                });
                assertThat(refused).as("a deadman said the foreign server is not the group's").isTrue();
                noDataDirectoryTouched();
            } finally {
                forger.close();
            }
            g.awaitHealthy(3, 180_000);
        } finally {
            run(user, "/usr/lib/postgresql/15/bin/pg_ctl", "-D", data.toString(), "-m", "immediate", "stop");
        }
    }

    static void run(String user, String... command) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(zgres.testkit.OsUser.as(user));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).directory(new java.io.File("/")).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
    }

    @Test
    @Order(8)
    void tenThousandJunkZnodesUnderTheRootLeaveTheGroupServing() throws Exception {
        NodeProcess m = master();
        faultAt = System.nanoTime();
        String junk = g.paths().root() + "/junk";
        byte[] kb = "x".repeat(1024).getBytes(StandardCharsets.UTF_8);
        // half in a directory of its own, half as /state znodes of another group (which the snapshot reads)
        for (int i = 0; i < 10_000; i += 500) {
            List<org.apache.curator.framework.api.transaction.CuratorOp> ops = new java.util.ArrayList<>();
            if (i == 0) {
                ops.add(attacker.transactionOp().create().forPath(junk));
            }
            for (int j = i; j < i + 500; j++) {
                ops.add(j % 2 == 0 ? attacker.transactionOp().create().forPath(junk + "/j-" + j, kb)
                        : attacker.transactionOp().create().forPath(g.paths().stateDir() + "/junk_10.0." + (j / 250)
                                + "." + (j % 250) + ":5432", kb));
            }
            attacker.transaction().forOperations(ops);
        }
        Thread.sleep(3000);
        assertThat(master()).as("the master kept its lock").isEqualTo(m);
        for (NodeProcess n : g.nodes()) {
            assertThat(n.alive()).as(n + " alive").isTrue();
            assertThat(logSays(n, "OutOfMemoryError")).as(n + " out of memory").isFalse();
        }
        finish(m);
        attacker.delete().deletingChildrenIfNeeded().forPath(junk);
        for (String c : attacker.getChildren().forPath(g.paths().stateDir())) {
            if (c.startsWith("junk_")) {
                attacker.delete().forPath(g.paths().stateDir() + "/" + c);
            }
        }
    }

    /** The attacker writes a handover naming {@code candidate} and deletes the master's lock. */
    void forgeHandover(NodeProcess from, NodeProcess candidate, Lsn finalLsn) throws Exception {
        Switchover s = new Switchover(Switchover.Kind.SWITCHOVER, g.id(candidate).toString(), Instant.now(),
                Instant.now(), false, Switchover.Stage.HANDOVER, g.id(from).toString(), finalLsn);
        String sw = g.paths().switchover(GROUP);
        if (attacker.checkExists().forPath(sw) != null) {
            attacker.setData().forPath(sw, Znodes.encode(s));
        } else {
            attacker.create().creatingParentsIfNeeded().forPath(sw, Znodes.encode(s));
        }
        faultAt = System.nanoTime();
        attacker.delete().forPath(lockPath());
    }
}
