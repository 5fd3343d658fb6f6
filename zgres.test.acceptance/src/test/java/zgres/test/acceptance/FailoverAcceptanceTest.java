package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

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

import zgres.api.GroupState;
import zgres.api.NodeState;
import zgres.testkit.FaultProxy;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * Automatic failover on real processes: a 3-node group, each node its own JVM running the exported runtime, real
 * PostgreSQL 15, a 3-server ZooKeeper ensemble. Every episode runs the writer and the 100 ms writability prober and
 * asserts that at most one node was writable at every probe; lost acknowledged writes are reported (and asserted
 * zero where nothing can be lost: a restart in place, a clean stop). The group runs the defaults, the failsafe on;
 * the ZooKeeper faults are run with it turned off live (the fast profile's behaviour; with it on they are
 * {@code FailsafeAcceptanceTest}'s).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailoverAcceptanceTest {
    static final Profile TEST = Profile.ACCEPTANCE;

    Group g;
    Workload w;
    long faultAt;
    String episode;

    @BeforeAll
    void start() throws Exception {
        g = new Group("accept", 3, TEST, 3, Map.of("maximum_lag_on_failover", 1048576));
        g.start();
    }

    @AfterAll
    void stop() throws Exception {
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
    void closeWorkload() throws Exception {
        if (w != null) {
            w.close();
        }
        if (failsafeOff) {
            failsafeOff = false;
            assertThat(g.ctl("config", "delete", g.name(), "zgres.deadman.cluster", "failsafe").exitCode()).isZero();
            g.await("every node runs the failsafe again", 30_000, s -> s.states().values().stream().allMatch(st ->
                    Boolean.TRUE.equals(st.metadata().get("failsafe"))));
        }
    }

    boolean failsafeOff;

    /** Turns the failsafe off for the group, live, until the end of the episode. */
    void withoutFailsafe() throws Exception {
        failsafeOff = true;
        assertThat(g.ctl("config", "set", g.name(), "zgres.deadman.cluster", "failsafe=false").exitCode()).isZero();
        g.await("no node runs the failsafe", 30_000, s -> s.states().values().stream().noneMatch(st ->
                Boolean.TRUE.equals(st.metadata().get("failsafe"))));
    }

    NodeProcess master() {
        return g.master().orElseThrow();
    }

    void fault() {
        faultAt = System.nanoTime();
    }

    /** Evaluates the episode: at most one writable node at every probe; prints the figures. */
    Workload.Result finish(NodeProcess finalMaster) throws Exception {
        assertThat(w.awaitAckAfter(System.nanoTime(), 30_000)).as("writes succeed again").isTrue();
        Thread.sleep(300);
        Workload.Result r = w.result(faultAt, finalMaster);
        double leaderChange = g.lockChanges().stream().filter(c -> c.atNanos() > faultAt && c.byNode())
                .findFirst().map(c -> (c.atNanos() - faultAt) / 1e9).orElse(Double.NaN);
        System.out.printf("{\"episode\":\"%s\",\"unavailable_s\":%.3f,\"leader_change_s\":%.3f,\"max_write_gap_s\":%.3f,"
                + "\"acked\":%d,\"lost_acked_writes\":%d,\"max_writable_masters\":%d,\"final_master\":\"%s\"}%n",
                episode, r.unavailableS(), leaderChange, r.maxWriteGapS(), r.acked(), r.lost(), r.maxWritable(),
                r.finalMaster());
        assertThat(r.violations()).as("probes that saw two writable nodes").isEmpty();
        assertThat(r.maxWritable()).isLessThanOrEqualTo(1);
        return r;
    }

    void awaitRejoinedAsReplica(NodeProcess n, NodeProcess master) throws InterruptedException {
        g.await(n + " streaming from " + master, 120_000, s -> s.state(g.id(n)).map(st ->
                st.phase() == zgres.api.NodePhase.STREAMING && st.upstream().equals(master.host() + ":" + master.port()))
                .orElse(false) && s.conns().containsKey(g.id(n)));
    }

    boolean postmasterGoneWithin(NodeProcess n, long ms) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (System.nanoTime() < deadline) {
            if (n.postmasterPid().isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    @Test
    @Order(1)
    void postgresCrashOfTheMasterIsRestartedInPlaceWithoutLosingAnything() throws Exception {
        NodeProcess m = master();
        long pid = m.postmasterPid().orElseThrow();
        int changes = g.lockChanges().size();
        fault();
        m.killPostmaster();
        g.await("the master's PostgreSQL restarted", 60_000, s -> m.postmasterPid().filter(p -> p != pid).isPresent()
                && s.masterConn().isPresent());
        Workload.Result r = finish(m);
        assertThat(master()).as("the same node stays master").isEqualTo(m);
        assertThat(g.lockChanges()).as("the lock never moved").hasSize(changes);
        assertThat(r.lost()).as("crash recovery loses no acknowledged write").isZero();
    }

    @Test
    @Order(2)
    void killingTheWholeMasterNodeFailsOverAndTheOldMasterRejoins() throws Exception {
        NodeProcess m = master();
        Map<NodeProcess, Long> logFrom = new java.util.HashMap<>();
        for (NodeProcess x : g.nodes()) {
            logFrom.put(x, java.nio.file.Files.size(x.log()));
        }
        fault();
        m.killNode();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        finish(n);
        // the new master made the other replica's slot before it promoted (not a cycle later, as master): the
        // replica streams through it at once
        NodeProcess other = g.nodes().stream().filter(x -> x != m && x != n).findFirst().orElseThrow();
        g.await(other + " streaming through its slot on " + n, 30_000, s -> activeSlots(n).contains(
                slot(other)));
        String log = n.tail(logFrom.get(n));
        int promoted = log.indexOf("promoted in");
        assertThat(promoted).as("the new master's log says it promoted").isPositive();
        assertThat(log.indexOf("created replication slot " + slot(other), promoted)).as("the slot of " + other
                + " was not created only after the promotion").isNegative();
        m.start();
        awaitRejoinedAsReplica(m, n);
        g.await(m + " streaming through its slot on " + n, 30_000, s -> activeSlots(n).contains(
                slot(m)));
    }

    /** @return the name of a node's replication slot on the master (SlotName: a loopback address loses nothing) */
    static String slot(NodeProcess n) {
        return "zgres_" + n.host().replace('.', '_') + "_" + n.port();
    }

    /** @return the replication slots a node's PostgreSQL reports active, comma-separated */
    static String activeSlots(NodeProcess n) {
        try {
            String s = zgres.testkit.Pg.one(n.host(), n.port(), "SELECT string_agg(slot_name, ',' ORDER BY slot_name) "
                    + "FROM pg_replication_slots WHERE active");
            return s == null ? "" : s;
        } catch (java.sql.SQLException e) {
            return "";
        }
    }

    @Test
    @Order(3)
    void killingOnlyTheMastersDeadmanFencesPostgresAtOnce() throws Exception {
        NodeProcess m = master();
        fault();
        m.killJvm();
        assertThat(postmasterGoneWithin(m, 2000)).as("the supervisor fenced PostgreSQL when its deadman died")
                .isTrue();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        finish(n);
        // the new master made the other replica's slot before it followed: it streams through it at once
        NodeProcess other = g.nodes().stream().filter(x -> x != m && x != n).findFirst().orElseThrow();
        g.await(other + " streaming through its slot on " + n, 30_000, s -> activeSlots(n).contains(
                slot(other)));
        m.start();
        awaitRejoinedAsReplica(m, n);
        g.await(m + " streaming through its slot on " + n, 30_000, s -> activeSlots(n).contains(
                slot(m)));
    }

    @Test
    @Order(4)
    void aFrozenMasterDeadmanIsFencedByItsLeaseAndRejoinsAfterResuming() throws Exception {
        NodeProcess m = master();
        fault();
        m.freeze();
        // the lease (2T/3 - margin) ends before the session can expire: PostgreSQL dies first
        assertThat(postmasterGoneWithin(m, TEST.sessionTimeoutMs())).as("fenced within the session timeout")
                .isTrue();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        Thread.sleep(TEST.sessionTimeoutMs());
        m.thaw();
        finish(n);
        awaitRejoinedAsReplica(m, n);
        assertThat(m.alive()).isTrue();
    }

    @Test
    @Order(4)
    void killingTheSupervisorOfAFrozenMasterStopsItsPostgresWithinTheLease() throws Exception {
        NodeProcess m = master();
        long postmaster = m.postmasterPid().orElseThrow();
        m.freeze();
        NodeProcess n;
        try {
            fault();
            assertThat(m.killSupervisor()).as("the postmaster runs under the supervisor").isPresent();
            // nothing in the JVM can help (frozen): the postmaster must go by itself (its parent-death signal)
            long leaseMs = TEST.sessionTimeoutMs() * 2 / 3;
            // postmaster.pid goes a moment before the process: wait for the process itself
            long deadline = faultAt + TimeUnit.MILLISECONDS.toNanos(leaseMs);
            while (ProcessHandle.of(postmaster).filter(NodeProcess::running).isPresent()
                    && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            double goneS = (System.nanoTime() - faultAt) / 1e9;
            assertThat(ProcessHandle.of(postmaster).filter(NodeProcess::running))
                    .as("the old postmaster, %d ms after its supervisor died (lease %d ms)", (long) (goneS * 1000),
                            leaseMs).isEmpty();
            assertThat(m.postmasterPid()).as("no PostgreSQL runs in its data directory").isEmpty();
            System.out.printf("{\"episode\":\"%s\",\"supervisor_killed_to_postgres_gone_s\":%.3f,"
                    + "\"lease_s\":%.3f}%n", episode, goneS, leaseMs / 1000.0);
            n = g.awaitNewMaster(m, 60_000);
        } finally {
            m.thaw();
        }
        finish(n);
        awaitRejoinedAsReplica(m, n);
    }

    @Test
    @Order(5)
    void withoutFailsafeAMasterCutOffZooKeeperIsFencedAndRejoinsWhenTheLinkHeals() throws Exception {
        NodeProcess m = master();
        withoutFailsafe();
        fault();
        g.zookeeperLink(m, FaultProxy.Mode.BLACKHOLE);
        assertThat(postmasterGoneWithin(m, TEST.sessionTimeoutMs())).as("fenced within the session timeout")
                .isTrue();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        Thread.sleep(1000);
        g.zookeeperLink(m, FaultProxy.Mode.PASS);
        finish(n);
        awaitRejoinedAsReplica(m, n);
    }

    /**
     * A node cut off from ZooKeeper says so calmly (WARN lines, no stack trace) and stops within seconds of SIGTERM
     * (its PostgreSQL already fenced; nothing to wait for from ZooKeeper).
     */
    @Test
    @Order(5)
    void withoutFailsafeANodeCutOffZooKeeperLogsCalmlyAndStopsAtOnceOnSigterm() throws Exception {
        NodeProcess m = master();
        withoutFailsafe();
        fault();
        long logFrom = java.nio.file.Files.size(m.log());
        g.zookeeperLink(m, FaultProxy.Mode.BLACKHOLE);
        try {
            assertThat(postmasterGoneWithin(m, TEST.sessionTimeoutMs())).isTrue();
            NodeProcess n = g.awaitNewMaster(m, 60_000);
            Thread.sleep(2 * TEST.sessionTimeoutMs());
            long t0 = System.nanoTime();
            assertThat(m.terminate(30_000)).as("stops on SIGTERM").isTrue();
            double stopS = (System.nanoTime() - t0) / 1e9;
            System.out.printf("{\"episode\":\"%s\",\"sigterm_to_exit_s\":%.3f}%n", episode, stopS);
            assertThat(stopS).as("SIGTERM to exit while cut off (s)").isLessThan(10);
            String log;
            try (var in = java.nio.file.Files.newInputStream(m.log())) {
                in.skipNBytes(logFrom);
                log = new String(in.readAllBytes());
            }
            assertThat(stackTraces(log)).as("stack traces while cut off:\n" + log).isEmpty();
            finish(n);
        } finally {
            g.zookeeperLink(m, FaultProxy.Mode.PASS);
        }
        m.start();
        awaitRejoinedAsReplica(m, g.master().orElseThrow());
    }

    @Test
    @Order(6)
    void withoutFailsafeWhenTheWholeZooKeeperEnsembleStopsTheMasterIsFencedAndTheGroupRecovers() throws Exception {
        NodeProcess m = master();
        withoutFailsafe();
        fault();
        g.zookeeper().stopAll();
        assertThat(postmasterGoneWithin(m, TEST.sessionTimeoutMs())).as("no lease without ZooKeeper").isTrue();
        Thread.sleep(2000);
        assertThat(g.nodes().stream().filter(x -> Pg.writable(x.host(), x.port())).toList())
                .as("nobody writable without ZooKeeper").isEmpty();
        g.zookeeper().startAll();
        GroupState s = g.await("a master again", 120_000, x -> x.masterConn().isPresent());
        NodeProcess n = g.master().orElseThrow();
        finish(n);
        assertThat(s.master()).isPresent();
    }

    @Test
    @Order(7)
    void aCleanlyStoppedMasterReleasesTheLockAtOnce() throws Exception {
        NodeProcess m = master();
        fault();
        assertThat(m.terminate(30_000)).as("the deadman stops on SIGTERM").isTrue();
        double stopped = (System.nanoTime() - faultAt) / 1e9;
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        double elected = (System.nanoTime() - faultAt) / 1e9;
        Workload.Result r = finish(n);
        System.out.printf("{\"episode\":\"clean-stop\",\"stop_s\":%.3f,\"new_master_s\":%.3f}%n", stopped, elected);
        assertThat(elected - stopped).as("no wait for the session to expire").isLessThan(
                TEST.sessionTimeoutMs() / 1000.0);
        assertThat(r.lost()).as("a fast shutdown sends all WAL to the standbys").isZero();
        m.start();
        awaitRejoinedAsReplica(m, n);
    }

    @Test
    @Order(8)
    void aReplicaTooFarBehindIsNotPromoted() throws Exception {
        NodeProcess m = master();
        List<NodeProcess> replicas = g.nodes().stream().filter(x -> x != m).toList();
        NodeProcess lagging = replicas.get(0);
        NodeProcess good = replicas.get(1);
        long receiver = walReceiverPid(lagging).orElseThrow();
        ProcessSignals.signal("STOP", receiver);
        try {
            // more than maximum_lag_on_failover (1 MB) of WAL the lagging replica never receives
            Pg.exec(m.host(), m.port(), "CREATE TABLE IF NOT EXISTS filler (x text)");
            Pg.exec(m.host(), m.port(), "INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 8000)");
            g.await("the master publishing its position", 30_000, s -> s.state(g.id(m)).map(NodeState::bestLsn)
                    .map(l -> l.bytesAfter(s.state(g.id(lagging)).map(NodeState::bestLsn).orElseThrow()) > 2_000_000)
                    .orElse(false));
            g.await(good + " caught up", 30_000, s -> s.state(g.id(good)).map(x -> x.bestLsn().compareTo(
                    s.state(g.id(m)).orElseThrow().bestLsn()) >= 0).orElse(false));
            fault();
            m.killNode();
            NodeProcess n = g.awaitNewMaster(m, 60_000);
            assertThat(n).as("the up-to-date replica is promoted, not the lagging one").isEqualTo(good);
        } finally {
            ProcessSignals.signal("CONT", receiver);
        }
        finish(good);
        m.start();
        awaitRejoinedAsReplica(m, good);
        awaitRejoinedAsReplica(lagging, good);
    }

    @Test
    @Order(9)
    void aNodeTaggedNofailoverIsNeverPromoted() throws Exception {
        NodeProcess m = master();
        List<NodeProcess> replicas = g.nodes().stream().filter(x -> x != m).toList();
        // the replica that would win on node id is tagged nofailover (restarted with the tag)
        NodeProcess tagged = replicas.get(0).name().compareTo(replicas.get(1).name()) < 0 ? replicas.get(0)
                : replicas.get(1);
        NodeProcess other = tagged == replicas.get(0) ? replicas.get(1) : replicas.get(0);
        w.stop();
        tagged.set("nofailover", true);
        tagged.terminate(30_000);
        tagged.start();
        g.awaitHealthy(3, 120_000);
        g.await("the nofailover tag published", 30_000, s -> s.state(g.id(tagged)).map(x -> x.tags().nofailover())
                .orElse(false));
        w = new Workload(g.nodes());
        w.start();
        w.awaitAckAfter(System.nanoTime(), 20_000);
        fault();
        m.killNode();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        assertThat(n).isEqualTo(other);
        finish(n);
        assertThat(g.lockChanges().stream().filter(c -> c.atNanos() > faultAt)
                .noneMatch(c -> c.holder().endsWith(":" + tagged.port()))).isTrue();
        tagged.set("nofailover", false);
        m.start();
        awaitRejoinedAsReplica(m, n);
    }

    /**
     * @return the stack trace lines of a log, less Curator's own fault: its {@code PersistentNode} reads the
     *         {@code Stat} of a check-exists that failed with a connection loss (a NullPointerException Curator logs
     *         itself; nothing changes: the node is made again on reconnection, and zgres publishes afresh anyway)
     */
    static List<String> stackTraces(String log) {
        List<String> traces = new java.util.ArrayList<>();
        boolean curators = false;
        for (String l : log.lines().toList()) {
            if (!l.startsWith("\t")) {
                curators = l.contains("\"org.apache.zookeeper.data.Stat.getEphemeralOwner()\"");
            } else if (l.startsWith("\tat ") && !curators) {
                traces.add(l);
            }
        }
        return traces;
    }

    static Optional<Long> walReceiverPid(NodeProcess n) {
        long pm = n.postmasterPid().orElseThrow();
        return ProcessHandle.of(pm).orElseThrow().children()
                .filter(c -> c.info().commandLine().orElse("").contains("walreceiver")
                        || readCmdline(c.pid()).contains("walreceiver"))
                .map(ProcessHandle::pid).findFirst();
    }

    static String readCmdline(long pid) {
        try {
            return new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/" + pid + "/cmdline")))
                    .replace('\0', ' ');
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** Signals for processes the harness did not start. */
    static final class ProcessSignals {
        static void signal(String sig, long pid) throws Exception {
            new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
