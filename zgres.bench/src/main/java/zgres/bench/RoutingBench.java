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
                int changes = g.lockChanges().size();
                Map<NodeProcess, Long> logAt = new java.util.HashMap<>();
                for (NodeProcess n : g.nodes()) {
                    logAt.put(n, java.nio.file.Files.size(n.log()));
                }
                m.killNode();
                long[] landed = new long[3];
                List<Integer> candidates = g.nodes().stream().filter(n -> n != m).map(NodeProcess::port).toList();
                // the new lock: held by one of the other nodes (not the lock of the dead master's session, seen
                // for a moment without its /state as the session's znodes disappear)
                List<String> newHolders = g.nodes().stream().filter(n -> n != m).map(n -> g.id(n).toString())
                        .toList();
                Thread[] pollers = new Thread[3];
                for (int i = 0; i < 3; i++) {
                    final int idx = i;
                    pollers[i] = new Thread(() -> {
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                        while (System.nanoTime() < deadline) {
                            // (the third: when ZooKeeper shows the new master's /conn, which routing needs)
                            int port = idx == 2 ? g.state().masterConn().map(zgres.api.ConnInfo::port).orElse(-1)
                                    : r.landsOn(idx == 0, true);
                            if (candidates.contains(port)) {
                                landed[idx] = System.nanoTime();
                                return;
                            }
                            try {
                                Thread.sleep(2);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    });
                    pollers[i].start();
                }
                for (Thread t : pollers) {
                    t.join();
                }
                long lockAt = g.lockChanges().stream().skip(changes)
                .filter(c -> newHolders.contains(c.holder())).findFirst()
                        .map(Group.LockChange::atNanos).orElse(0L);
                double p = (landed[0] - lockAt) / 1e6;
                double h = (landed[1] - lockAt) / 1e6;
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
                // when the new master's /conn was there for the proxies (0: with the lock)
                double connMs = Math.max(0, (landed[2] - lockAt) / 1e6);
                o.put("master_conn_ms", Bench.round(connMs));
                if (connMs > 50) {
                    // the new master's /conn came late: what its deadman did meanwhile (stderr)
                    for (NodeProcess n : g.nodes()) {
                        if (n != m) {
                            System.err.println("routing: run " + run + ": " + n + " since the kill:\n" + n.tail(logAt
                                    .get(n)));
                        }
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
