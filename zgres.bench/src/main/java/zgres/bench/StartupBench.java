package zgres.bench;

import java.nio.file.Files;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Profile;

/**
 * {@code ./zgres bench startup}: a replica's runtime started again (its data directory kept) until its {@code /conn}
 * is published, the point from which clients are routed to it; with where the time goes, from the runtime's own log:
 * JVM and framework until the first log line, until the ZooKeeper client is set up, until {@code /conn}.
 */
final class StartupBench {
    private StartupBench() {
    }

    static int run(int runs) throws Exception {
        List<Double> total = new ArrayList<>();
        try (Group g = new Group("startup", 3, Profile.named("default"), 1, Map.of())) {
            g.start();
            g.awaitHealthy(3, 180_000);
            for (int run = 0; run <= runs; run++) {
                NodeProcess r = g.nodes().stream().filter(n -> !g.master().map(n::equals).orElse(false))
                        .findFirst().orElseThrow();
                var id = g.id(r);
                r.terminate(60_000);
                g.await(r + " gone", 60_000, s -> !s.conns().containsKey(id) && s.state(id).isEmpty());
                long logFrom = Files.size(r.log());
                long wall0 = System.currentTimeMillis();
                long t0 = System.nanoTime();
                r.start();
                g.await(r + "'s /conn", 120_000, s -> s.conns().containsKey(id));
                double s = (System.nanoTime() - t0) / 1e9;
                String log;
                try (var in = Files.newInputStream(r.log())) {
                    in.skipNBytes(logFrom);
                    log = new String(in.readAllBytes());
                }
                ObjectNode o = Bench.JSON.createObjectNode();
                o.put("bench", "startup");
                o.put("run", run);
                if (run == 0) {
                    o.put("warmup", true);
                } else {
                    total.add(s);
                }
                o.put("start_to_conn_s", Bench.round(s));
                o.put("to_first_log_s", since(wall0, firstTime(log, "")));
                o.put("to_zookeeper_s", since(wall0, firstTime(log, "INFO ZooKeeperComponent - ZooKeeper ")));
                o.put("to_deadman_started_s", since(wall0, firstTime(log, "deadman started")));
                o.put("to_conn_logged_s", since(wall0, firstTime(log, "healthy: published")));
                System.out.println(o);
                g.awaitHealthy(3, 180_000);
                TimeUnit.SECONDS.sleep(1);
            }
        }
        ObjectNode o = Bench.JSON.createObjectNode();
        o.put("bench", "startup");
        o.put("summary", true);
        o.put("runs", runs);
        o.put("median_start_to_conn_s", Bench.round(Bench.percentile(total, 50)));
        System.out.println(o);
        return 0;
    }

    /** @return the time of day (ms since midnight, local) of the first log line containing {@code text}, else -1 */
    static long firstTime(String log, String text) {
        for (String l : log.split("\n")) {
            if (l.length() > 12 && l.charAt(2) == ':' && l.charAt(8) == '.' && l.contains(text)) {
                return LocalTime.parse(l.substring(0, 12)).toNanoOfDay() / 1_000_000;
            }
        }
        return -1;
    }

    private static Double since(long wall0, long timeOfDayMs) {
        if (timeOfDayMs < 0) {
            return null;
        }
        long midnight = LocalDate.now().atStartOfDay(ZoneId.systemDefault()).toInstant().toEpochMilli();
        return Bench.round((midnight + timeOfDayMs - wall0) / 1000.0);
    }
}
