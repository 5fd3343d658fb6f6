package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import zgres.testkit.Group;
import zgres.testkit.Group.CtlResult;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * The operator's commands on a real 3-node group (each node its own JVM), driven through {@code ./zgres ctl}'s
 * one-shot runtime: planned switchovers in a loop lose nothing, refused requests change nothing, pause blocks
 * failover, a manual failover works without a master and is refused when it could lose data, history records it all.
 * Every episode runs the writer and the 100 ms writability prober.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperationsAcceptanceTest {
    static final Profile TEST = Profile.ACCEPTANCE;
    static final String GROUP = "ops";
    Group g;

    @BeforeAll
    void start() throws Exception {
        g = new Group(GROUP, 3, TEST, 1, Map.of());
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
        for (NodeProcess n : g.nodes()) {
            if (!n.alive()) {
                n.start();
            }
        }
        g.awaitHealthy(3, 180_000);
    }

    static String address(NodeProcess n) {
        return n.host() + ":" + n.port();
    }

    Workload.Result check(Workload w, long since, NodeProcess finalMaster) throws Exception {
        assertThat(w.awaitAckAfter(System.nanoTime(), 30_000)).as("writes succeed").isTrue();
        Thread.sleep(200);
        Workload.Result r = w.result(since, finalMaster);
        assertThat(r.violations()).as("probes that saw two writable nodes").isEmpty();
        assertThat(r.maxWritable()).isLessThanOrEqualTo(1);
        return r;
    }

    @Test
    @Order(1)
    void tenAlternatingSwitchoversLoseNoAcknowledgedWrite() throws Exception {
        List<Double> gaps = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            NodeProcess m = g.master().orElseThrow();
            List<NodeProcess> replicas = g.nodes().stream().filter(n -> n != m).toList();
            NodeProcess to = replicas.get(i % 2);
            try (Workload w = new Workload(g.nodes())) {
                w.start();
                assertThat(w.awaitAckAfter(System.nanoTime(), 10_000)).isTrue();
                long t0 = System.nanoTime();
                CtlResult r = g.ctl("switchover", "--wait", "60", GROUP, address(to));
                assertThat(r.exitCode()).as(r.out()).isZero();
                assertThat(r.out()).contains("master is now " + address(to));
                assertThat(g.master()).contains(to);
                Workload.Result res = check(w, t0, to);
                gaps.add(res.maxWriteGapS());
                System.out.printf("{\"episode\":\"switchover-%d\",\"from\":\"%s\",\"to\":\"%s\",\"max_write_gap_s\":%.3f,"
                        + "\"acked\":%d,\"lost_acked_writes\":%d,\"max_writable_masters\":%d}%n", i, m.name(),
                        to.name(), res.maxWriteGapS(), res.acked(), res.lost(), res.maxWritable());
                assertThat(res.lost()).as("acknowledged writes lost by switchover " + i).isZero();
            }
            g.awaitHealthy(3, 120_000);
        }
        System.out.println("switchover write gaps (s): " + gaps);
        CtlResult history = g.ctl("history", GROUP);
        assertThat(history.exitCode()).isZero();
        assertThat(history.out().lines().filter(l -> l.contains("switchover")).count()).isGreaterThanOrEqualTo(10);
    }

    @Test
    @Order(2)
    void aRefusedSwitchoverChangesNothing() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        int changes = g.lockChanges().size();
        CtlResult missing = g.ctl("switchover", GROUP, "127.0.0.1:1");
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.out()).contains("switchover refused").contains("not a member");
        CtlResult self = g.ctl("switchover", GROUP, address(m));
        assertThat(self.exitCode()).isEqualTo(1);
        assertThat(self.out()).contains("is the master already");
        CtlResult unknown = g.ctl("switchover", "nosuchgroup");
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.out()).contains("no group 'nosuchgroup'");
        assertThat(g.ctl("pause", GROUP).exitCode()).isZero();
        try {
            CtlResult paused = g.ctl("switchover", GROUP);
            assertThat(paused.exitCode()).isEqualTo(1);
            assertThat(paused.out()).contains("paused");
        } finally {
            assertThat(g.ctl("resume", GROUP).exitCode()).isZero();
        }
        Thread.sleep(2000);
        assertThat(g.master()).contains(m);
        assertThat(g.lockChanges()).as("the lock never moved").hasSize(changes);
        assertThat(g.state().switchover()).isEmpty();
        assertThat(g.ctl("switchovers").out()).contains("no pending switchover");
    }

    @Test
    @Order(3)
    void aScheduledSwitchoverIsListedAndCanBeCancelled() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        CtlResult r = g.ctl("switchover", "--at", java.time.Instant.now().plusSeconds(3600).toString(), GROUP);
        assertThat(r.exitCode()).as(r.out()).isZero();
        assertThat(r.out()).contains("scheduled");
        assertThat(g.ctl("switchovers").out()).contains(GROUP).contains("switchover").contains("(best replica)");
        assertThat(g.ctl("cancel", GROUP).out()).contains("cancelled");
        assertThat(g.state().switchover()).isEmpty();
        assertThat(g.master()).contains(m);
    }

    /** The plain ctl: help for every command, usage for wrong arguments (exit 1), never a coercion error. */
    @Test
    @Order(3)
    void helpListsEveryCommandAndWrongArgumentsPrintTheUsage() throws Exception {
        CtlResult help = g.ctl("help");
        assertThat(help.exitCode()).isZero();
        for (String c : List.of("list", "await", "switchover", "failover", "switchovers", "cancel", "pause", "resume",
                "history", "config", "plugins", "acl", "sync")) {
            assertThat(help.out()).as("help lists " + c).containsPattern("(?m)^  " + c + " +\\S");
        }
        CtlResult one = g.ctl("help", "switchover");
        assertThat(one.exitCode()).isZero();
        assertThat(one.out()).contains("usage: zgres:switchover").contains("--at VALUE").contains("<candidate>");
        for (String[] wrong : List.of(new String[] {"config"}, new String[] {"switchover"},
                new String[] {"history", "a", "b", "c"}, new String[] {"await", GROUP, "--bogus"})) {
            CtlResult r = g.ctl(wrong);
            assertThat(r.exitCode()).as(String.join(" ", wrong)).isEqualTo(1);
            assertThat(r.out()).as(String.join(" ", wrong)).contains("usage: zgres:" + wrong[0])
                    .doesNotContain("Cannot coerce");
        }
        CtlResult unknown = g.ctl("bogus");
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.out()).contains("unknown command 'bogus'").contains("switchover");
    }

    @Test
    @Order(4)
    void pauseBlocksFailoverAndResumeLetsItHappen() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        assertThat(g.ctl("pause", GROUP).exitCode()).isZero();
        assertThat(g.ctl("list", GROUP).out()).contains("PAUSED");
        int changes = g.lockChanges().size();
        m.killNode();
        Thread.sleep(3 * TEST.sessionTimeoutMs() + 2000);
        assertThat(g.state().master()).as("no failover while paused").isEmpty();
        assertThat(g.lockChanges().stream().skip(changes).filter(Group.LockChange::byNode)).isEmpty();
        assertThat(g.ctl("resume", GROUP).exitCode()).isZero();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        assertThat(n).isNotEqualTo(m);
        m.start();
    }

    @Test
    @Order(5)
    void aManualFailoverWorksWithoutAMasterAndIsRefusedWhenItCouldLoseData() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        List<NodeProcess> replicas = g.nodes().stream().filter(n -> n != m).toList();
        NodeProcess behind = replicas.get(0);
        NodeProcess ahead = replicas.get(1);
        assertThat(g.ctl("pause", GROUP).exitCode()).isZero();
        // freeze the walreceiver of one replica, then write: it stays behind the other
        long receiver = Long.parseLong(Pg.one(behind.host(), behind.port(), "SELECT pid FROM pg_stat_wal_receiver"));
        new ProcessBuilder("kill", "-STOP", Long.toString(receiver)).start().waitFor();
        try {
            try (Connection c = Pg.connect(m.host(), m.port(), 3); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS manual (x int)");
                s.execute("INSERT INTO manual SELECT generate_series(1, 1000)");
            }
            g.await("the other replica published a position ahead", 20_000, s -> s.state(g.id(ahead))
                    .flatMap(a -> s.state(g.id(behind)).map(b -> a.bestLsn().isAfter(b.bestLsn()))).orElse(false));
            m.killNode();
            g.await("the master's state is gone", 20_000, s -> s.state(g.id(m)).isEmpty());
            CtlResult refused = g.ctl("failover", GROUP, address(behind));
            assertThat(refused.exitCode()).as(refused.out()).isEqualTo(1);
            assertThat(refused.out()).contains("could lose acknowledged commits").contains(address(ahead));
            assertThat(g.state().master()).isEmpty();
            CtlResult done = g.ctl("failover", "--wait", "60", GROUP, address(ahead));
            assertThat(done.exitCode()).as(done.out()).isZero();
            assertThat(done.out()).contains("master is now " + address(ahead));
            assertThat(Pg.one(ahead.host(), ahead.port(), "SELECT count(*) FROM manual")).isEqualTo("1000");
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(receiver)).start().waitFor();
            g.ctl("resume", GROUP);
        }
        m.start();
        g.awaitHealthy(3, 120_000);
        CtlResult history = g.ctl("history", GROUP);
        assertThat(history.out()).contains("manual");
        Optional<String> last = history.out().lines().filter(l -> l.contains(address(ahead).split(":")[1]))
                .reduce((a, b) -> b);
        assertThat(last).isPresent();
    }
}
