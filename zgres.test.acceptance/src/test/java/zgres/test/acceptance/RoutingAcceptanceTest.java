package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.testkit.Snapshots;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.Routing;
import zgres.plugin.apply.ApplySync;
import zgres.plugin.pghba.PgHbaSync;

/**
 * The sync daemon's engine and plugins in front of a real group (each node its own JVM): a real pgbouncer and a real
 * HAProxy route new connections to the master and the replicas, follow a failover, close sessions that were open on
 * an old master, and do nothing when given the same snapshot twice; a plugin that throws stops nobody.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RoutingAcceptanceTest {
    static final Profile TEST = new Profile("test", 3000, 300, 300, 100, 1500);
    Group g;
    Routing r;

    @BeforeAll
    void start() throws Exception {
        g = new Group("route", 3, TEST, 1, Map.of());
        g.start();
        r = new Routing(g);
        r.engine.add(s -> {
            throw new IllegalStateException("this plugin is broken on purpose");
        }, "broken");
    }

    @AfterAll
    void stop() throws Exception {
        if (r != null) {
            r.close();
        }
        if (g != null) {
            g.close();
        }
    }

    static void await(String what, Duration d, org.awaitility.core.ThrowingRunnable check) {
        Awaitility.await(what).atMost(d).pollInterval(Duration.ofMillis(50)).ignoreExceptions().untilAsserted(check);
    }

    @Test
    @Order(1)
    void newConnectionsReachTheMasterAndTheReplicasThroughBothProxies() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        await("pgbouncer and HAProxy route the group", Duration.ofSeconds(30), () -> {
            assertThat(r.landsOn(true, true)).isEqualTo(m.port());
            assertThat(r.landsOn(false, true)).isEqualTo(m.port());
        });
        try (Connection c = r.viaPgbouncer("route-ro")) {
            assertThat(Routing.inRecovery(c)).as("pgbouncer's read-only database is a replica").isTrue();
        }
        try (Connection c = r.viaHaproxy(false)) {
            assertThat(Routing.inRecovery(c)).as("HAProxy's read-only backend is a replica").isTrue();
        }
        try (Connection c = r.viaPgbouncer("route"); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS routed (x int)");
            s.execute("INSERT INTO routed VALUES (1)");
        }
        String ro = Files.readString(r.work.resolve("pgbouncer/databases.ini"));
        assertThat(ro).contains("route = host=127.0.0.1 port=" + m.port()).contains("route-ro = host=127.0.0.1");
        await("the other plugins applied while the broken one fails and is retried", Duration.ofSeconds(10), () -> {
            var broken = r.engine.status().stream().filter(p -> p.name().equals("broken")).findFirst().orElseThrow();
            assertThat(broken.failures()).as("the broken plugin failed and is retried").isGreaterThan(1);
            assertThat(r.engine.status().stream().filter(p -> !p.name().equals("broken")))
                    .allSatisfy(p -> assertThat(p.applied()).as(p.name()).isPositive());
        });
    }

    @Test
    @Order(2)
    void theSameSnapshotTwiceChangesNothing() throws Exception {
        ClusterSnapshot s = r.reader().rebuild();
        r.pgbouncer.apply(s);
        r.haproxy.apply(s);
        int reloads = r.pgbouncer.reloads();
        int hreloads = r.haproxy.reloads();
        int commands = r.haproxy.commandsSent();
        long mtime = Files.getLastModifiedTime(r.work.resolve("pgbouncer/databases.ini")).toMillis();
        r.pgbouncer.apply(s);
        r.haproxy.apply(s);
        r.pgbouncer.apply(r.reader().rebuild());
        r.haproxy.apply(r.reader().rebuild());
        assertThat(r.pgbouncer.reloads()).isEqualTo(reloads);
        assertThat(r.haproxy.reloads()).isEqualTo(hreloads);
        assertThat(r.haproxy.commandsSent()).isEqualTo(commands);
        assertThat(Files.getLastModifiedTime(r.work.resolve("pgbouncer/databases.ini")).toMillis()).isEqualTo(mtime);
    }

    @Test
    @Order(3)
    void whenTheMasterMovesSessionsOpenOnTheOldMasterAreClosed() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        NodeProcess other = g.nodes().stream().filter(n -> n != m).findFirst().orElseThrow();
        // the plugins are taken out of the daemon to be fed a snapshot in which the master moved while the old one
        // still runs: exactly what they see during a switchover
        r.engine.remove(r.pgbouncer);
        r.engine.remove(r.haproxy);
        try (Connection viaBouncer = r.viaPgbouncer("route"); Connection viaHaproxy = r.viaHaproxy(true)) {
            assertThat(Routing.serverPort(viaBouncer)).isEqualTo(m.port());
            assertThat(Routing.serverPort(viaHaproxy)).isEqualTo(m.port());
            GroupState now = r.reader().rebuild().group("route").orElseThrow();
            Map<NodeId, String> healthy = new LinkedHashMap<>();
            now.conns().forEach((id, c) -> healthy.put(id, c.zone()));
            ClusterSnapshot moved = Snapshots.of(Long.MAX_VALUE - 1, "route", now.dbId(), g.id(other), healthy);
            r.pgbouncer.apply(moved);
            r.haproxy.apply(moved);
            // pgbouncer applies a SIGHUP asynchronously: the session is closed within milliseconds, not at once
            await("pgbouncer closed the session on the old master", Duration.ofSeconds(5),
                    () -> assertThatThrownBy(() -> Routing.serverPort(viaBouncer)).isInstanceOf(SQLException.class));
            await("HAProxy closed the session on the old master", Duration.ofSeconds(5),
                    () -> assertThatThrownBy(() -> Routing.serverPort(viaHaproxy)).isInstanceOf(SQLException.class));
            assertThat(r.landsOn(true, true)).isEqualTo(other.port());
            assertThat(r.landsOn(false, true)).isEqualTo(other.port());
        } finally {
            r.engine.add(r.pgbouncer, "pgbouncer");
            r.engine.add(r.haproxy, "haproxy");
        }
        await("routing back to the real master", Duration.ofSeconds(10), () -> {
            assertThat(r.landsOn(true, true)).isEqualTo(m.port());
            assertThat(r.landsOn(false, true)).isEqualTo(m.port());
        });
    }

    @Test
    @Order(4)
    void afterAFailoverNewConnectionsReachTheNewMaster() throws Exception {
        NodeProcess m = g.master().orElseThrow();
        Connection open = r.viaPgbouncer("route");
        assertThat(Routing.serverPort(open)).isEqualTo(m.port());
        m.killNode();
        NodeProcess n = g.awaitNewMaster(m, 60_000);
        await("both proxies route to the new master", Duration.ofSeconds(10), () -> {
            assertThat(r.landsOn(true, true)).isEqualTo(n.port());
            assertThat(r.landsOn(false, true)).isEqualTo(n.port());
        });
        await("writes through pgbouncer succeed on the new master", Duration.ofSeconds(10), () -> {
            try (Connection c = r.viaPgbouncer("route"); Statement s = c.createStatement()) {
                s.execute("INSERT INTO routed VALUES (2)");
            }
        });
        assertThatThrownBy(() -> Routing.serverPort(open)).as("the session on the dead master is gone")
                .isInstanceOf(SQLException.class);
        open.close();
        m.start();
        g.awaitHealthy(3, 120_000);
    }

    @Test
    @Order(5)
    void theApplyPluginWritesTheJsonAndRunsItsExecutable() throws Exception {
        Path dir = Files.createTempDirectory("zgres-apply-");
        Path hook = dir.resolve("hook.sh");
        Path calls = dir.resolve("calls");
        Files.writeString(hook, "#!/bin/sh\ncp \"$1\" " + calls + "\n");
        Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwxr-xr-x"));
        ApplySync apply = new ApplySync(new ApplySync.Settings("apply", dir.resolve("databases.json"),
                List.of(hook.toString()), 10_000));
        r.engine.add(apply, "apply");
        NodeProcess m = g.master().orElseThrow();
        await("the executable ran with the JSON", Duration.ofSeconds(10), () -> {
            JsonNode j = new ObjectMapper().readTree(calls.toFile());
            assertThat(j.get("masters").get("route").asText()).isEqualTo(g.id(m).toString());
            assertThat(j.get("healthy")).hasSize(3);
        });
        r.engine.remove(apply);
    }

    @Test
    @Order(6)
    void thePgHbaPluginAllowsReplicationFromEveryMemberAndReloadsPostgres() throws Exception {
        NodeProcess n = g.nodes().get(0);
        PgHbaSync hba = new PgHbaSync(new PgHbaSync.Settings("pghba", "route", n.dataDir().resolve("pg_hba.conf"),
                n.dataDir(), "replicator", "scram-sha-256"));
        hba.apply(r.reader().rebuild());
        assertThat(Files.readString(n.dataDir().resolve("pg_hba.conf")))
                .startsWith("# BEGIN zgres").contains("host replication replicator 127.0.0.1/32 scram-sha-256");
        assertThat(Pg.one(n.host(), n.port(), "SELECT count(*) FROM pg_hba_file_rules WHERE line_number = 2 "
                + "AND address = '127.0.0.1' AND 'replication' = ANY(database) AND error IS NULL")).isEqualTo("1");
        Path pglog = n.dataDir().resolveSibling(n.dataDir().getFileName() + ".log");
        await("PostgreSQL reloaded its configuration", Duration.ofSeconds(10), () -> assertThat(Files.readString(pglog))
                .contains("received SIGHUP, reloading configuration files"));
        assertThat(Pg.one(n.host(), n.port(), "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"))
                .isEqualTo("0");
    }
}
