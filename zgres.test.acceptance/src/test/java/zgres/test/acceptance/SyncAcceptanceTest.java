package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;

import zgres.api.GroupState;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * Synchronous replication on real processes: in {@code on} mode the node listed in {@code /sync} holds every
 * acknowledged commit, so killing the master loses nothing and only the listed node is promoted; without a
 * synchronous standby {@code on} writes alone and {@code strict} blocks commits until one is back.
 */
class SyncAcceptanceTest {
    static final Profile TEST = Profile.ACCEPTANCE;

    static String syncStandby(GroupState s) {
        return s.sync().standbys().isEmpty() ? "" : s.sync().standbys().get(0);
    }

    static Workload.Result check(Workload w, long since, NodeProcess finalMaster) throws Exception {
        assertThat(w.awaitAckAfter(System.nanoTime(), 30_000)).as("writes succeed").isTrue();
        Thread.sleep(200);
        Workload.Result r = w.result(since, finalMaster);
        System.out.printf("{\"episode\":\"sync\",\"unavailable_s\":%.3f,\"acked\":%d,\"lost_acked_writes\":%d,"
                + "\"max_writable_masters\":%d,\"final_master\":\"%s\"}%n", r.unavailableS(), r.acked(), r.lost(),
                r.maxWritable(), r.finalMaster());
        assertThat(r.violations()).as("probes that saw two writable nodes").isEmpty();
        return r;
    }

    @Test
    void onModeKillingTheMasterLosesNothingPromotesTheListedNodeAndWritesAloneWithoutStandbys() throws Exception {
        try (Group g = new Group("syncon", 3, TEST, 1, Map.of("synchronous_mode", "on"))) {
            g.start();
            GroupState s = g.await("a synchronous standby in /sync", 60_000, x -> !syncStandby(x).isEmpty());
            NodeProcess m = g.master().orElseThrow();
            String listed = syncStandby(s);
            assertThat(Pg.one(m.host(), m.port(), "SHOW synchronous_standby_names")).contains(listed);
            // 1. SIGKILL of the master node: only the listed node may take over, and it has every ack
            try (Workload w = new Workload(g.nodes())) {
                w.start();
                assertThat(w.awaitAckAfter(System.nanoTime(), 10_000)).isTrue();
                Thread.sleep(1000);
                long t0 = System.nanoTime();
                m.killNode();
                NodeProcess n = g.awaitNewMaster(m, 60_000);
                assertThat(g.id(n).toString()).as("the new master is the node /sync listed").isEqualTo(listed);
                Workload.Result r = check(w, t0, n);
                assertThat(r.lost()).as("acknowledged writes lost in synchronous mode").isZero();
            }
            m.start();
            g.awaitHealthy(3, 120_000);
            // 2. both standbys die: "on" writes alone, /sync lists nobody; they come back and one is listed again
            NodeProcess master = g.master().orElseThrow();
            List<NodeProcess> replicas = g.nodes().stream().filter(x -> x != master).toList();
            g.await("a synchronous standby in /sync", 60_000, x -> !syncStandby(x).isEmpty());
            try (Workload w = new Workload(g.nodes())) {
                w.start();
                long t0 = System.nanoTime();
                replicas.forEach(NodeProcess::killNode);
                g.await("/sync lists nobody", 30_000, x -> x.sync().standbys().isEmpty());
                long after = System.nanoTime();
                assertThat(w.awaitAckAfter(after, 10_000)).as("on: the master writes alone").isTrue();
                for (NodeProcess r : replicas) {
                    r.start();
                }
                g.awaitHealthy(3, 120_000);
                g.await("a synchronous standby in /sync again", 60_000, x -> !syncStandby(x).isEmpty());
                Workload.Result r = check(w, t0, master);
                assertThat(r.lost()).isZero();
            }
            // 3. forged: a handover to the standby /sync does not list, and the master's lock deleted, by a client
            // with the operator's full write access; that node refuses it, the listed one is elected, nothing
            // acknowledged is lost
            NodeProcess m3 = g.master().orElseThrow();
            String listed3 = syncStandby(g.await("a synchronous standby in /sync", 60_000,
                    x -> !syncStandby(x).isEmpty()));
            NodeProcess unlisted = g.nodes().stream().filter(x -> x != m3 && !g.id(x).toString().equals(listed3))
                    .findFirst().orElseThrow();
            try (Workload w = new Workload(g.nodes());
                    CuratorFramework attacker = g.identities().client(zgres.testkit.Identities.Role.OPERATOR,
                            g.zookeeper().connectString(), g.paths())) {
                attacker.start();
                assertThat(attacker.blockUntilConnected(20, TimeUnit.SECONDS)).isTrue();
                w.start();
                assertThat(w.awaitAckAfter(System.nanoTime(), 10_000)).isTrue();
                Thread.sleep(1000);
                long t0 = System.nanoTime();
                zgres.api.Switchover forged = new zgres.api.Switchover(zgres.api.Switchover.Kind.SWITCHOVER,
                        g.id(unlisted).toString(), java.time.Instant.now(), java.time.Instant.now(), false,
                        zgres.api.Switchover.Stage.HANDOVER, g.id(m3).toString(), zgres.api.Lsn.parse("0/1"));
                attacker.create().orSetData().creatingParentsIfNeeded().forPath(g.paths().switchover("syncon"),
                        zgres.zookeeper.Znodes.encode(forged));
                attacker.delete().forPath(g.paths().lock("syncon"));
                NodeProcess n = g.awaitNewMaster(m3, 60_000);
                assertThat(g.id(n).toString()).as("the listed node, not the forged candidate").isEqualTo(listed3);
                Workload.Result r = check(w, t0, n);
                assertThat(r.lost()).as("acknowledged writes lost to a forged handover in synchronous mode").isZero();
            }
        }
    }

    @Test
    void strictModeBlocksCommitsWithoutASynchronousStandbyUntilOneIsBack() throws Exception {
        try (Group g = new Group("syncstrict", 2, TEST, 1, Map.of("synchronous_mode", "strict"))) {
            g.start();
            g.await("a synchronous standby in /sync", 60_000, x -> !syncStandby(x).isEmpty());
            NodeProcess m = g.master().orElseThrow();
            NodeProcess replica = g.nodes().stream().filter(x -> x != m).findFirst().orElseThrow();
            Pg.exec(m.host(), m.port(), "CREATE TABLE strict_check (x int)");
            replica.killNode();
            g.await("/sync lists nobody", 30_000, x -> x.sync().standbys().isEmpty());
            CompletableFuture<Long> commit = CompletableFuture.supplyAsync(() -> {
                try (Connection c = Pg.connect(m.host(), m.port(), 5); Statement st = c.createStatement()) {
                    st.execute("INSERT INTO strict_check VALUES (1)");
                    return System.nanoTime();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(5000);
            assertThat(commit).as("strict: the commit waits for a synchronous standby").isNotDone();
            assertThat(Pg.one(m.host(), m.port(), "SHOW synchronous_standby_names")).isNotEmpty();
            long restart = System.nanoTime();
            replica.start();
            long done = commit.get(120, TimeUnit.SECONDS);
            assertThat(done).isGreaterThan(restart);
            g.await("the standby is listed again", 60_000, x -> !syncStandby(x).isEmpty());
            assertThat(Pg.one(replica.host(), replica.port(), "SELECT count(*) FROM strict_check")).isEqualTo("1");
        }
    }
}
