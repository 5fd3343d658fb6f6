package zgres.bench;

import static zgres.bench.Bench.JSON;
import static zgres.bench.Bench.round;
import static zgres.bench.Bench.security;
import static zgres.bench.Bench.settings;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * {@code ./zgres bench stability}: a 3-node group under write load while busy loops saturate every core; counts what
 * no fault caused (lock changes, fences, PostgreSQL restarts).
 */
final class StabilityBench {
    private StabilityBench() {
    }

    /**
     * Keeps a group under write load while other processes saturate every core, and counts what no fault caused:
     * lock changes, fences and PostgreSQL restarts.
     */
    static int run(double minutes, Profile profile, int zkServers) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        List<Process> hogs = new ArrayList<>();
        try (Group g = new Group("stable", 3, profile, zkServers, Map.of(), security)) {
            g.start();
            int lockChangesBefore = g.lockChanges().size();
            Map<String, Integer> fencesBefore = count(g, "dead man's switch");
            Map<String, Integer> startsBefore = count(g, "started PostgreSQL");
            try (Workload w = new Workload(g.nodes())) {
                w.start();
                for (int i = 0; i < cores; i++) {
                    hogs.add(new ProcessBuilder("sh", "-c", "while :; do :; done").start());
                }
                long end = System.nanoTime() + (long) (minutes * 60e9);
                while (System.nanoTime() < end) {
                    Thread.sleep(1000);
                }
                hogs.forEach(Process::destroyForcibly);
                Thread.sleep(2000);
                NodeProcess m = g.master().orElseThrow();
                Workload.Result r = w.result(System.nanoTime() - (long) (minutes * 60e9), m);
                int fences = diff(count(g, "dead man's switch"), fencesBefore);
                int restarts = diff(count(g, "started PostgreSQL"), startsBefore);
                ObjectNode o = JSON.createObjectNode();
                o.put("bench", "stability");
                o.set("settings", settings(profile, zkServers));
                o.put("minutes", minutes);
                o.put("cpu_hogs", cores);
                o.put("lock_changes", g.lockChanges().size() - lockChangesBefore);
                o.put("fences", fences);
                o.put("postgres_restarts", restarts);
                o.put("acked_writes", r.acked());
                o.put("max_write_gap_s", round(r.maxWriteGapS()));
                o.put("max_writable_masters", r.maxWritable());
                System.out.println(o);
                return r.maxWritable() <= 1 ? 0 : 1;
            }
        } finally {
            hogs.forEach(Process::destroyForcibly);
        }
    }

    static Map<String, Integer> count(Group g, String needle) {
        Map<String, Integer> m = new HashMap<>();
        for (NodeProcess n : g.nodes()) {
            try {
                int c = (int) java.nio.file.Files.readAllLines(n.log()).stream().filter(l -> l.contains(needle))
                        .count();
                m.put(n.name(), c);
            } catch (java.io.IOException e) {
                m.put(n.name(), 0);
            }
        }
        return m;
    }

    static int diff(Map<String, Integer> after, Map<String, Integer> before) {
        int d = 0;
        for (var e : after.entrySet()) {
            d += e.getValue() - before.getOrDefault(e.getKey(), 0);
        }
        return d;
    }
}
