package zgres.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Profile;
import zgres.testkit.Routing;

/**
 * {@code ./zgres bench routing}: from the {@code /lock} change after the master node is killed to the first new
 * connection through pgbouncer and through HAProxy that lands on the new master, with a real sync daemon process
 * driving both.
 */
final class RoutingBench {
    private RoutingBench() {
    }

    /**
     * {@code warmup} first episodes are printed ({@code "warmup": true}) but not counted: the sync daemon (its own
     * process, as users run it) and its plugins meet their first master change there (class loading, first reload),
     * which a long-running sync daemon does once in its life.
     */
    static int run(int runs, int warmup, Profile profile) throws Exception {
        List<Double> pgb = new ArrayList<>();
        List<Double> hap = new ArrayList<>();
        try (Group g = new Group("routing", 3, profile, 1, Map.of()); Routing r = new Routing(g)) {
            g.start();
            for (int run = 1 - warmup; run <= runs; run++) {
                for (NodeProcess n : g.nodes()) {
                    if (!n.alive()) {
                        n.start();
                    }
                }
                g.awaitHealthy(3, 180_000);
                NodeProcess m = g.master().orElseThrow();
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while ((r.landsOn(true, true) != m.port() || r.landsOn(false, true) != m.port())
                        && System.nanoTime() < until) {
                    Thread.sleep(50);
                }
                RoutingEpisode e = RoutingEpisode.kill(g, r, m);
                double p = e.pgbouncerMs();
                double h = e.haproxyMs();
                if (run >= 1) {
                    pgb.add(p);
                    hap.add(h);
                }
                ObjectNode o = Bench.JSON.createObjectNode();
                o.put("bench", "routing");
                o.put("run", run);
                if (run < 1) {
                    o.put("warmup", true);
                }
                o.put("pgbouncer_ms", Bench.round(p));
                o.put("haproxy_ms", Bench.round(h));
                o.put("master_conn_ms", Bench.round(e.masterConnMs()));
                if (e.masterConnMs() > 50) {
                    // the new master's /conn came late: what the other deadmen did meanwhile (stderr)
                    for (Map.Entry<NodeProcess, Long> n : e.logAt().entrySet()) {
                        System.err.println("routing: run " + run + ": " + n.getKey() + " since the kill:\n" + n
                                .getKey().tail(n.getValue()));
                    }
                }
                o.set("settings", Bench.settings(profile, 1));
                System.out.println(o);
            }
        }
        ObjectNode s = Bench.JSON.createObjectNode();
        s.put("bench", "routing");
        s.put("summary", true);
        s.put("runs", runs);
        s.put("pgbouncer_p50_ms", Bench.round(Bench.percentile(pgb, 50)));
        s.put("pgbouncer_p99_ms", Bench.round(Bench.percentile(pgb, 99)));
        s.put("haproxy_p50_ms", Bench.round(Bench.percentile(hap, 50)));
        s.put("haproxy_p99_ms", Bench.round(Bench.percentile(hap, 99)));
        System.out.println(s);
        return 0;
    }
}
