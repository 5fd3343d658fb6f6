package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Profile;
import zgres.testkit.Routing;

/**
 * What operators and load balancers read from the nodes, checked against the cluster: the deadmen's HTTP health
 * checks drive a real HAProxy with no sync daemon at all ({@code option httpchk GET /master}, as Patroni users run
 * it): it sends clients to the master, and to the new one after the master's node is killed; each runtime's
 * {@code /metrics} says who holds the lock, the roles, the timeline and the promotion.
 */
class ObservabilityAcceptanceTest {
    static final Profile TEST = Profile.ACCEPTANCE;
    final HttpClient http = HttpClient.newHttpClient();

    int status(int port, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(java.time.Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    String body(int port, String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(java.time.Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return e.toString();
        }
    }

    /** @return the port of the server a new connection through HAProxy lands on, -1 when none answers */
    static int landsOn(int port) {
        try (java.sql.Connection c = Routing.connect(port, "postgres")) {
            return Routing.serverPort(c);
        } catch (java.sql.SQLException e) {
            return -1;
        }
    }

    String metrics(int port) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(java.time.Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
        return r.body();
    }

    /** @return the value of the sample {@code name{...}} whose labels include each of {@code labels}, else NaN */
    static double sample(String scrape, String name, String... labels) {
        return scrape.lines().filter(l -> l.startsWith(name + "{") && java.util.Arrays.stream(labels)
                .allMatch(x -> l.substring(0, l.indexOf('}') + 1).contains(x))).map(l -> Double.parseDouble(
                        l.substring(l.lastIndexOf(' ') + 1))).findFirst().orElse(Double.NaN);
    }

    @Test
    void healthChecksDriveHaproxyAndMetricsTellTheTruthThroughAFailover() throws Exception {
        try (Group g = new Group("health", 3, TEST, 1, Map.of())) {
            Map<NodeProcess, Integer> httpPorts = new HashMap<>();
            Map<NodeProcess, Integer> metricsPorts = new HashMap<>();
            for (NodeProcess n : g.nodes()) {
                int p = Group.freePort();
                n.set("http_port", p);
                httpPorts.put(n, p);
                int mp = Group.freePort();
                n.config("zgres.metrics").put("port", mp);
                metricsPorts.put(n, mp);
            }
            g.start();
            g.awaitHealthy(3, 180_000);
            NodeProcess m = g.master().orElseThrow();
            // a replica is published healthy a moment before it streams: wait for the group to settle
            g.await("every replica streaming", 60_000, x -> x.states().values().stream().filter(st -> st.role()
                    == zgres.api.Role.REPLICA).count() == 2 && x.states().values().stream().filter(st -> st.role()
                            == zgres.api.Role.REPLICA).allMatch(st -> st.phase() == zgres.api.NodePhase.STREAMING));
            for (NodeProcess n : g.nodes()) {
                int p = httpPorts.get(n);
                assertThat(status(p, "/master")).as(n + " /master").isEqualTo(n == m ? 200 : 503);
                // a replica fresh from its clone may still be more than maximum_lag_on_failover behind: not a
                // replica to send reads to until it caught up
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (status(p, "/replica") != (n == m ? 503 : 200) && System.nanoTime() < until) {
                    Thread.sleep(100);
                }
                assertThat(status(p, "/replica")).as(n + " /replica: " + body(p, "/status")).isEqualTo(n == m ? 503
                        : 200);
                assertThat(status(p, "/health")).as(n + " /health").isEqualTo(200);
            }
            for (NodeProcess n : g.nodes()) {
                String scrape = metrics(metricsPorts.get(n));
                String node = "node=\"" + g.id(n) + "\"";
                assertThat(sample(scrape, "zgres_lock_held", node)).as(n + " lock held").isEqualTo(n == m ? 1 : 0);
                assertThat(sample(scrape, "zgres_role", node, "role=\"" + (n == m ? "master" : "replica") + "\""))
                        .as(n + " role").isEqualTo(1);
                assertThat(sample(scrape, "zgres_timeline", node)).isEqualTo(g.state().state(g.id(n)).orElseThrow()
                        .timeline());
                assertThat(sample(scrape, "zgres_zookeeper_connected", node)).isEqualTo(1);
                // a database node watches its own group only: its reader keeps that group's znodes (state, conn,
                // lock, db-id, timeline), and the cache of every group (a sync daemon's, a console's) is not taken
                assertThat(sample(scrape, "zgres_zookeeper_cached_znodes", "reader=\"" + g.id(n) + "\""))
                        .as(n + " znodes its reader keeps").isBetween(5.0, 12.0);
                assertThat(scrape).as(n + ": no cache of every group in a node's runtime")
                        .doesNotContain("reader=\"cache\"");
                if (n == m) {
                    assertThat(sample(scrape, "zgres_lease_remaining_seconds", node)).isPositive();
                    assertThat(scrape).as("the master lists its standbys").contains("zgres_standby_streaming{");
                }
            }
            Path dir = Files.createTempDirectory("zgres-httpchk-");
            int listen = Group.freePort();
            StringBuilder cfg = new StringBuilder("""
                    global
                        maxconn 100
                    defaults
                        mode tcp
                        timeout connect 1s
                        timeout client 30s
                        timeout server 30s
                    listen master
                        bind 127.0.0.1:%d
                        option httpchk GET /master
                        http-check expect status 200
                        default-server inter 100ms fall 1 rise 1 on-marked-down shutdown-sessions
                    """.formatted(listen));
            for (NodeProcess n : g.nodes()) {
                cfg.append("    server ").append(n.name()).append(" 127.0.0.1:").append(n.port()).append(" check port ")
                        .append(httpPorts.get(n)).append('\n');
            }
            Files.writeString(dir.resolve("haproxy.cfg"), cfg);
            Process haproxy = new ProcessBuilder("haproxy", "-db", "-f", dir.resolve("haproxy.cfg").toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("haproxy.log").toFile()).start();
            try {
                // HAProxy counts every server up until its first check: wait for the checks (5 in a row on m)
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                int inARow = 0;
                while (inARow < 5 && System.nanoTime() < until) {
                    inARow = landsOn(listen) == m.port() ? inARow + 1 : 0;
                    Thread.sleep(50);
                }
                for (int i = 0; i < 5; i++) {
                    assertThat(landsOn(listen)).as("HAProxy sends clients to the master").isEqualTo(m.port());
                }
                int changes = g.lockChanges().size();
                long t0 = System.nanoTime();
                m.killNode();
                NodeProcess n = g.awaitNewMaster(m, 60_000);
                List<Integer> seen = new java.util.ArrayList<>();
                until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                int at;
                while ((at = landsOn(listen)) != n.port() && System.nanoTime() < until) {
                    if (at != -1) {
                        seen.add(at);
                    }
                    Thread.sleep(20);
                }
                long landed = System.nanoTime();
                assertThat(at).as("HAProxy sends clients to the new master").isEqualTo(n.port());
                assertThat(seen).as("no connection landed on a replica meanwhile").allMatch(p -> p == m.port()
                        || p == n.port());
                long lockAt = g.lockChanges().stream().skip(changes).filter(Group.LockChange::byNode).findFirst()
                        .map(Group.LockChange::atNanos).orElse(t0);
                System.out.printf("{\"episode\":\"httpchk\",\"kill_to_haproxy_on_new_master_s\":%.3f,"
                        + "\"lock_to_haproxy_on_new_master_ms\":%.1f}%n", (landed - t0) / 1e9, (landed - lockAt) / 1e6);
                assertThat(status(httpPorts.get(n), "/master")).isEqualTo(200);
                String after = metrics(metricsPorts.get(n));
                String node = "node=\"" + g.id(n) + "\"";
                assertThat(sample(after, "zgres_lock_held", node)).isEqualTo(1);
                assertThat(sample(after, "zgres_promotions_total", node)).as("the new master's promotions")
                        .isEqualTo(1);
                assertThat(sample(after, "zgres_decisions_total", node, "action=\"promote\"")).isGreaterThanOrEqualTo(1);
                assertThat(sample(after, "zgres_timeline", node)).isEqualTo(2);
                System.out.println("--- /metrics of the new master (trimmed)\n" + after.lines().filter(l -> l
                        .contains(g.id(n).toString()) && !l.startsWith("zgres_role")).limit(25).collect(
                                java.util.stream.Collectors.joining("\n")));
            } finally {
                haproxy.destroy();
                haproxy.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }
}
