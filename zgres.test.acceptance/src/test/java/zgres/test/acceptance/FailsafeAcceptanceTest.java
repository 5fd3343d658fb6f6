package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
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
import zgres.testkit.FaultProxy;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * The failsafe ({@code failsafe = true}) on real processes: a 3-node group, each node its own JVM, a 3-server
 * ensemble, the writer and the 100 ms writability probe. An outage of the whole ensemble, or the master alone cut off
 * ZooKeeper, costs no write while every promotable replica streams; otherwise the old behaviour (the master is fenced,
 * a replica promoted once the rule allows); at most one writable node at every probe.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailsafeAcceptanceTest {
    static final Profile TEST = Profile.ACCEPTANCE;
    static final String GROUP = "failsafe";
    Group g;
    Workload w;
    long faultAt;
    String episode;

    @BeforeAll
    void start() throws Exception {
        g = new Group(GROUP, 3, TEST, 3, Map.of("failsafe", true));
        for (NodeProcess n : g.nodes()) {
            int port = Group.freePort();
            n.config("zgres.metrics").put("port", port);
            metricsPorts.put(n, port);
        }
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
        // every replica publishes that it runs the failsafe, and streams with the failsafe's keepalives
        g.await("every node publishes the failsafe", 30_000, s -> s.states().values().stream().allMatch(st ->
                Boolean.TRUE.equals(st.metadata().get("failsafe"))));
        for (NodeProcess n : g.nodes()) {
            g.await(n + " with wal_receiver_timeout 1.5 s", 30_000, s -> Pg.text(n, "SELECT setting FROM pg_settings "
                    + "WHERE name = 'wal_receiver_timeout'").equals("1500"));
        }
        // an ensemble that was just restarted may still change its leader: start from a master that kept its lock for
        // five seconds
        long stableSince = System.nanoTime();
        String holder = g.state().master().map(Object::toString).orElse("");
        while (System.nanoTime() - stableSince < TimeUnit.SECONDS.toNanos(5)) {
            Thread.sleep(100);
            String now = g.state().master().filter(x -> g.state().masterConn().isPresent()).map(Object::toString)
                    .orElse("");
            if (now.isEmpty() || !now.equals(holder)) {
                holder = now;
                stableSince = System.nanoTime();
            }
        }
        w = new Workload(g.nodes());
        w.start();
        assertThat(w.awaitAckAfter(System.nanoTime(), 20_000)).as("the writer works before the fault").isTrue();
        Thread.sleep(1000);
        masterPid = master().postmasterPid().orElseThrow();
    }

    /** the master's postmaster when the episode began */
    long masterPid;
    final Map<NodeProcess, Integer> metricsPorts = new java.util.HashMap<>();

    /** @return the value of {@code name} in {@code n}'s {@code /metrics} (the runtime's own HTTP server, no ZooKeeper) */
    double metric(NodeProcess n, String name) throws Exception {
        String body = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + metricsPorts.get(n) + "/metrics")).timeout(
                        java.time.Duration.ofSeconds(5)).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
                .body();
        return ObservabilityAcceptanceTest.sample(body, name, "node=\"" + g.id(n) + "\"");
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

    Workload.Result finish(NodeProcess finalMaster) throws Exception {
        assertThat(w.awaitAckAfter(System.nanoTime(), 60_000)).as("writes succeed again").isTrue();
        Thread.sleep(300);
        Workload.Result r = w.result(faultAt, finalMaster);
        double leaderChange = g.lockChanges().stream().filter(c -> c.atNanos() > faultAt && c.byNode()).findFirst()
                .map(c -> (c.atNanos() - faultAt) / 1e9).orElse(Double.NaN);
        System.out.printf("{\"episode\":\"%s\",\"unavailable_s\":%.3f,\"leader_change_s\":%.3f,"
                + "\"max_write_gap_s\":%.3f,\"acked\":%d,\"lost_acked_writes\":%d,\"max_writable_masters\":%d,"
                + "\"final_master\":\"%s\"}%n", episode, r.unavailableS(), leaderChange, r.maxWriteGapS(), r.acked(),
                r.lost(), r.maxWritable(), r.finalMaster());
        assertThat(r.violations()).as("probes that saw two writable nodes").isEmpty();
        assertThat(r.maxWritable()).isLessThanOrEqualTo(1);
        return r;
    }

    /** @return the longest time without an acknowledged write between {@code from} and {@code to} (nanoTime) */
    static double gapS(List<Workload.Ack> acks, long from, long to) {
        long last = from;
        long gap = 0;
        for (Workload.Ack a : acks) {
            if (a.atNanos() <= from) {
                continue;
            }
            if (a.atNanos() > to) {
                gap = Math.max(gap, a.atNanos() - last);
                last = to;
                break;
            }
            gap = Math.max(gap, a.atNanos() - last);
            last = a.atNanos();
        }
        gap = Math.max(gap, to - last);
        return gap / 1e9;
    }

    /**
     * The master rode the fault (which ended at {@code back}) out: it holds its lock again, its PostgreSQL ran
     * throughout, no write failed from the fault until three seconds after it ended, nothing acknowledged was lost,
     * and only the master took the lock (again).
     */
    void rodeItOut(NodeProcess m, long back) throws Exception {
        g.await("the master holds its lock again", 60_000, s -> s.master().filter(x -> x.equals(g.id(m))).isPresent()
                && s.masterConn().isPresent());
        // the renewals that were in flight during the fault complete now: none may fence the master
        long settled = back + TimeUnit.SECONDS.toNanos(3);
        Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(settled - System.nanoTime())));
        Workload.Result r = finish(m);
        assertThat(m.postmasterPid()).as("the master's PostgreSQL was never fenced nor restarted").contains(masterPid);
        assertThat(gapS(w.acks(), faultAt, settled)).as("no write failed during the fault and after it")
                .isLessThan(1.5);
        assertThat(r.lost()).as("nothing acknowledged lost").isZero();
        assertThat(newHolders()).as("only the master took the lock (again)").allMatch(h -> h.equals(g.id(m)
                .toString()));
    }

    /** @return the nodes that took the lock since the fault */
    List<String> newHolders() {
        return g.lockChanges().stream().filter(c -> c.atNanos() > faultAt && c.byNode()).map(Group.LockChange::holder)
                .distinct().toList();
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} s")
    @org.junit.jupiter.params.provider.ValueSource(ints = {3, 8, 30})
    @Order(1)
    void theWholeEnsembleDownCostsNoWrite(int seconds) throws Exception {
        NodeProcess m = master();
        faultAt = System.nanoTime();
        g.zookeeper().stopAll();
        Thread.sleep(seconds * 1000L);
        assertThat(m.postmasterPid()).as("the master still runs after " + seconds + " s without ZooKeeper (T = "
                + TEST.sessionTimeoutMs() + " ms)").isPresent();
        assertThat(metric(m, "zgres_failsafe_holding")).as("/metrics: the failsafe holds").isEqualTo(1.0);
        assertThat(metric(m, "zgres_failsafe_extensions_total")).as("/metrics: extensions without a lease")
                .isPositive();
        g.zookeeper().startAll();
        rodeItOut(m, System.nanoTime());
    }

    @Test
    @Order(2)
    void theEnsemblesLeaderKilledCostsNoWrite() throws Exception {
        NodeProcess m = master();
        int leader = g.zookeeper().leaderIndex();
        assertThat(leader).as("a leading server").isNotNegative();
        faultAt = System.nanoTime();
        g.zookeeper().kill(leader);
        Thread.sleep(8000);
        g.zookeeper().restart(leader);
        rodeItOut(m, System.nanoTime());
    }

    @Test
    @Order(2)
    void theMasterAloneCutOffZooKeeperKeepsServingAndNobodyIsPromoted() throws Exception {
        NodeProcess m = master();
        faultAt = System.nanoTime();
        g.zookeeperLink(m, FaultProxy.Mode.BLACKHOLE);
        Thread.sleep(3 * TEST.sessionTimeoutMs() + 2000); // its session expires: the others see the lock free
        assertThat(m.postmasterPid()).as("the master still runs").isPresent();
        assertThat(newHolders()).as("no replica took the lock while it hears from the master").isEmpty();
        g.zookeeperLink(m, FaultProxy.Mode.PASS);
        rodeItOut(m, System.nanoTime());
    }

    @Test
    @Order(3)
    void aMasterCutOffZooKeeperAndFromAReplicaIsFencedBeforeThatReplicaMayTakeOver() throws Exception {
        NodeProcess m = master();
        NodeProcess r = g.nodes().stream().filter(n -> n != m).findFirst().orElseThrow();
        long receiver = Long.parseLong(Pg.text(r, "SELECT pid FROM pg_stat_wal_receiver"));
        faultAt = System.nanoTime();
        // the replica stops replying (its walreceiver frozen) and the master loses ZooKeeper
        new ProcessBuilder("kill", "-STOP", Long.toString(receiver)).start().waitFor();
        try {
            g.zookeeperLink(m, FaultProxy.Mode.BLACKHOLE);
            long t0 = System.nanoTime();
            while (m.postmasterPid().isPresent() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15)) {
                Thread.sleep(20);
            }
            assertThat(m.postmasterPid()).as("the master is fenced: a promotable replica does not reply").isEmpty();
            NodeProcess n = g.awaitNewMaster(m, 60_000);
            finish(n);
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(receiver)).start().waitFor();
            g.zookeeperLink(m, FaultProxy.Mode.PASS);
        }
    }

    @Test
    @Order(4)
    void theEnsembleDownAndTheMasterKilledMeanwhileAReplicaIsPromotedOnceZooKeeperReturns() throws Exception {
        NodeProcess m = master();
        faultAt = System.nanoTime();
        g.zookeeper().stopAll();
        Thread.sleep(1000);
        m.killNode();
        Thread.sleep(4000);
        g.zookeeper().startAll();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        finish(n);
    }

    @Test
    @Order(5)
    void aMasterFrozenDuringAnOutageIsFencedAndAReplicaIsPromoted() throws Exception {
        NodeProcess m = master();
        faultAt = System.nanoTime();
        g.zookeeper().stopAll();
        Thread.sleep(500);
        m.freeze();
        try {
            long t0 = System.nanoTime();
            while (m.postmasterPid().isPresent() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
                Thread.sleep(20);
            }
            assertThat(m.postmasterPid()).as("a frozen deadman extends nothing: its PostgreSQL is fenced").isEmpty();
            g.zookeeper().startAll();
            NodeProcess n = g.awaitNewMaster(m, 60_000);
            finish(n);
        } finally {
            m.thaw();
        }
    }

    /**
     * The master's whole host frozen (a paused virtual machine: its JVM, supervisor and PostgreSQL SIGSTOPped) while
     * ZooKeeper is up: the replicas' walreceivers time out and their reconnections hang (the kernel accepts for the
     * frozen postmaster, nobody answers) - a walreceiver that is still connecting has replied to nobody, so a replica
     * takes over once the session expired and the rule allows; when the host resumes its PostgreSQL is fenced.
     */
    @Test
    @Order(5)
    void theMastersWholeHostFrozenFailsOverAndItIsFencedWhenItResumes() throws Exception {
        NodeProcess m = master();
        faultAt = System.nanoTime();
        List<Long> frozen = m.freezeHost();
        NodeProcess n;
        try {
            n = g.awaitNewMaster(m, 60_000);
            assertThat(w.awaitAckAfter(System.nanoTime(), 30_000)).as("the new master takes writes").isTrue();
        } finally {
            m.thawHost(frozen);
        }
        long t0 = System.nanoTime();
        while (m.postmasterPid().filter(p -> p == masterPid).isPresent()
                && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
            Thread.sleep(20);
        }
        assertThat(m.postmasterPid()).as("the resumed master's PostgreSQL is fenced").isNotEqualTo(
                java.util.Optional.of(masterPid));
        finish(n);
    }

    @Test
    @Order(6)
    void inSynchronousModeTheWholeEnsembleDownForEightSecondsLosesNothing() throws Exception {
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "synchronous_mode=on").exitCode()).isZero();
        g.await("a synchronous standby", 30_000, s -> !s.sync().standbys().isEmpty());
        Thread.sleep(2000); // every node's view has /sync (the master extends only for the /sync members it knows)
        NodeProcess m = master();
        faultAt = System.nanoTime();
        g.zookeeper().stopAll();
        Thread.sleep(8000);
        assertThat(m.postmasterPid()).as("the master still runs").isPresent();
        g.zookeeper().startAll();
        rodeItOut(m, System.nanoTime()); // in synchronous mode too: nothing acknowledged lost
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "synchronous_mode=off").exitCode()).isZero();
    }

    /**
     * Synchronous mode, the ensemble down and the master's node killed or its JVM frozen meanwhile: the master is
     * fenced, a {@code /sync} member is promoted once ZooKeeper returns, and nothing acknowledged is lost.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "master {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"killed", "frozen"})
    @Order(7)
    void inSynchronousModeTheMasterLostDuringAnOutageLosesNothing(String fault) throws Exception {
        assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "synchronous_mode=on").exitCode()).isZero();
        NodeProcess m = master();
        try {
            g.await("a synchronous standby", 30_000, s -> !s.sync().standbys().isEmpty());
            Thread.sleep(2000); // every node's view has /sync
            GroupState before = g.state();
            faultAt = System.nanoTime();
            g.zookeeper().stopAll();
            Thread.sleep(1000);
            if (fault.equals("killed")) {
                m.killNode();
            } else {
                m.freeze();
            }
            long t0 = System.nanoTime();
            while (m.postmasterPid().isPresent() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
                Thread.sleep(20);
            }
            assertThat(m.postmasterPid()).as("the master's PostgreSQL is gone (killed or fenced)").isEmpty();
            Thread.sleep(2000);
            g.zookeeper().startAll();
            NodeProcess n = g.awaitNewMaster(m, 60_000);
            Workload.Result r = finish(n);
            assertThat(before.sync().standbys()).as("the new master was a synchronous standby")
                    .contains(g.id(n).toString());
            assertThat(r.lost()).as("synchronous mode loses nothing acknowledged").isZero();
        } finally {
            if (fault.equals("frozen")) {
                m.thaw();
            }
            assertThat(g.ctl("config", "set", GROUP, "zgres.deadman.cluster", "synchronous_mode=off").exitCode())
                    .isZero();
        }
    }
}
