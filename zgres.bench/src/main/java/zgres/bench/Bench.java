package zgres.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.FaultProxy;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * Benchmarks ({@code ./zgres bench ...}): real processes, real PostgreSQL and ZooKeeper, one JSON line per episode.
 *
 * <pre>
 *   failover --fault node-kill|pg-kill|deadman-kill|deadman-stop|freeze|zk-partition|switchover [--runs 5]
 *            [--profile fast] [--sync off|on|strict] [--zk-security open|auth|tls]
 *   routing [--runs 20] [--warmup 1]
 *   stability [--minutes 10] [--profile fast]
 *   config [--changes 100] [--updates 20]
 *   scale [--groups 100,300,1000] [--minutes 3] [--handover-ms 1000] [--failover-s 60] [--lsn-moving]
 * </pre>
 */
public final class Bench {
    static final ObjectMapper JSON = new ObjectMapper();
    /** how the benchmark groups reach ZooKeeper (--zk-security open|auth|tls; auth, as in production, by default) */
    static Group.Security security = Group.Security.AUTH;

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
        }
        Map<String, String> opts = options(Arrays.copyOfRange(args, 1, args.length));
        Profile profile = Profile.named(opts.getOrDefault("profile", "default"));
        security = switch (opts.getOrDefault("zk-security", "auth")) {
            case "open" -> Group.Security.OPEN;
            case "auth" -> Group.Security.AUTH;
            case "tls" -> Group.Security.AUTH_TLS;
            default -> throw new IllegalArgumentException("--zk-security: open, auth or tls");
        };
        int code = switch (args[0]) {
            case "failover" -> {
                outageS = Double.parseDouble(opts.getOrDefault("outage-s", "8"));
                failsafe = opts.getOrDefault("failsafe", profile.failsafe() ? "on" : "off");
                if (!List.of("on", "off").contains(failsafe)) {
                    throw new IllegalArgumentException("--failsafe on|off");
                }
                profile = profile.withFailsafe(failsafe.equals("on"));
                yield failover(opts.getOrDefault("fault", "node-kill"),
                        Integer.parseInt(opts.getOrDefault("runs", "5")), profile,
                        Integer.parseInt(opts.getOrDefault("zk-servers", "3")), opts.getOrDefault("sync", "off"));
            }
            case "routing" -> RoutingBench.run(Integer.parseInt(opts.getOrDefault("runs", "20")),
                    Integer.parseInt(opts.getOrDefault("warmup", "1")), Profile.named(opts.getOrDefault("profile",
                            "fast")));
            case "stability" -> stability(Double.parseDouble(opts.getOrDefault("minutes", "10")), profile,
                    Integer.parseInt(opts.getOrDefault("zk-servers", "3")));
            case "scale" -> opts.containsKey("snapshot-cost") ? SnapshotCost.run(java.util.Arrays.stream(opts
                    .getOrDefault("groups", "100,300,1000,3000").split(",")).map(String::trim).map(Integer::parseInt)
                    .toList()) : ScaleBench.run(java.util.Arrays.stream(opts.getOrDefault("groups", "100").split(","))
                    .map(String::trim).map(Integer::parseInt).toList(), Double.parseDouble(opts.getOrDefault("minutes",
                            "3")), profile, Long.parseLong(opts.getOrDefault("handover-ms", "1000")), Long.parseLong(opts
                                    .getOrDefault("failover-s", "60")), Boolean.parseBoolean(opts.getOrDefault(
                                            "lsn-moving", "false")));
            case "clone" -> CloneBench.run(Integer.parseInt(opts.getOrDefault("size-mb", "1024")),
                    Integer.parseInt(opts.getOrDefault("runs", "3")), Boolean.parseBoolean(opts.getOrDefault(
                            "drop-caches", Boolean.toString(zgres.testkit.OsUser.current().equals("root")))));
            case "ctl" -> CtlBench.run(Integer.parseInt(opts.getOrDefault("runs", "10")));
            case "startup" -> StartupBench.run(Integer.parseInt(opts.getOrDefault("runs", "5")));
            case "config" -> ConfigBench.run(Integer.parseInt(opts.getOrDefault("changes", "100")),
                    Integer.parseInt(opts.getOrDefault("updates", "20")));
            default -> {
                usage();
                yield 2;
            }
        };
        System.exit(code);
    }

    /** @return true for the faults whose failover waits for the old master's session to expire (T) */
    static boolean waitsForExpiry(String fault) {
        return List.of("node-kill", "deadman-kill", "freeze", "zk-partition").contains(fault);
    }

    /** @return seconds from the fault to the "promoted in" line of {@code n}'s log written since {@code from}, NaN */
    static double promotedS(NodeProcess n, long from, long faultWall) {
        try (var in = java.nio.file.Files.newInputStream(n.log())) {
            in.skipNBytes(Math.min(from, java.nio.file.Files.size(n.log())));
            long t = StartupBench.firstTime(new String(in.readAllBytes()), "promoted in");
            if (t < 0) {
                return Double.NaN;
            }
            long midnight = java.time.LocalDate.now().atStartOfDay(java.time.ZoneId.systemDefault()).toInstant()
                    .toEpochMilli();
            return (midnight + t - faultWall) / 1000.0;
        } catch (java.io.IOException e) {
            return Double.NaN;
        }
    }

    /** --outage-s: how long a zk-outage keeps the ensemble down (and zk-leader-kill its leader) */
    static double outageS = 8;
    /** --failsafe on|off (the profile's by default: on in the default profile, off in the fast one) */
    static String failsafe = "on";

    /** After a ZooKeeper fault: the group's master (the same node when it rode the outage out). */
    static NodeProcess awaitAnyMaster(Group g) throws InterruptedException {
        g.await("a master with its /conn", 180_000, x -> x.masterConn().isPresent() && x.master().flatMap(x::state)
                .filter(st -> st.role() == zgres.api.Role.MASTER).isPresent());
        int port = g.master().orElseThrow().port();
        return g.nodes().stream().filter(n -> n.port() == port).findFirst().orElseThrow();
    }

    static void usage() {
        System.err.println("usage: ./zgres bench failover --fault node-kill|pg-kill|deadman-kill|deadman-stop|freeze|"
                + "zk-partition|switchover|zk-outage|zk-leader-kill [--runs N] [--profile default|fast] [--sync "
                + "off|on|strict] [--zk-security open|auth|tls] [--failsafe on|off] [--outage-s 8]\n"
                + "       ./zgres bench routing [--runs 20] [--warmup 1] [--profile fast]\n"
                + "       ./zgres bench stability [--minutes N] [--profile default|fast]\n"
                + "       ./zgres bench config [--changes 100] [--updates 20]\n"
                + "       ./zgres bench scale [--groups 100,300,1000] [--minutes 3] [--handover-ms 1000] "
                + "[--failover-s 60] [--lsn-moving] [--profile default|fast]\n"
                + "       ./zgres bench scale --snapshot-cost [--groups 100,300,1000,3000]\n"
                + "       ./zgres bench clone [--size-mb 1024] [--runs 3] [--drop-caches true|false]\n"
                + "       ./zgres bench ctl [--runs 10]\n"
                + "       ./zgres bench startup [--runs 5]");
        System.exit(2);
    }

    static Map<String, String> options(String[] a) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < a.length; i++) {
            if (!a[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a[i] + "'");
            }
            String k = a[i].substring(2);
            if (i + 1 < a.length && !a[i + 1].startsWith("--")) {
                m.put(k, a[++i]);
            } else {
                m.put(k, "true");
            }
        }
        return m;
    }

    static ObjectNode settings(Profile p, int zkServers) {
        return settings(p, zkServers, "off");
    }

    static ObjectNode settings(Profile p, int zkServers, String sync) {
        ObjectNode s = JSON.createObjectNode();
        s.put("profile", p.name());
        s.put("synchronous_mode", sync);
        s.put("failsafe", failsafe);
        s.put("outage_s", outageS);
        s.put("session_timeout_ms", p.sessionTimeoutMs());
        s.put("loop_wait_ms", p.loopWaitMs());
        s.put("election_delay_ms", p.electionDelayMs());
        s.put("zookeeper_servers", zkServers);
        s.put("zookeeper_security", security.name().toLowerCase(java.util.Locale.ROOT));
        s.put("nodes", 3);
        return s;
    }

    static int failover(String fault, int runs, Profile profile, int zkServers, String sync) throws Exception {
        List<String> faults = List.of("node-kill", "pg-kill", "deadman-kill", "deadman-stop", "freeze",
                "zk-partition", "switchover", "zk-outage", "zk-leader-kill");
        if (!faults.contains(fault)) {
            throw new IllegalArgumentException("unknown fault '" + fault + "' (" + String.join(", ", faults) + ")");
        }
        if (!List.of("off", "on", "strict").contains(sync)) {
            throw new IllegalArgumentException("--sync '" + sync + "' must be off, on or strict");
        }
        List<Double> unavailable = new ArrayList<>();
        List<Double> leader = new ArrayList<>();
        List<Double> gones = new ArrayList<>();
        List<Double> gaps = new ArrayList<>();
        List<Double> promotions = new ArrayList<>();
        int maxWritable = 0;
        int lostTotal = 0;
        try (Group g = new Group("bench", 3, profile, zkServers, Map.of("synchronous_mode", sync), security)) {
            g.start();
            for (int run = 1; run <= runs; run++) {
                for (NodeProcess n : g.nodes()) {
                    if (!n.alive()) {
                        n.start();
                    }
                }
                g.awaitHealthy(3, 180_000);
                if (!sync.equals("off")) {
                    g.await("a synchronous standby in /sync", 120_000, x -> !x.sync().standbys().isEmpty());
                }
                NodeProcess m = g.master().orElseThrow();
                try (Workload w = new Workload(g.nodes())) {
                    w.start();
                    w.awaitAckAfter(System.nanoTime(), 30_000);
                    Thread.sleep(2000);
                    long oldPid = m.postmasterPid().orElse(-1L);
                    Map<NodeProcess, Long> logFrom = new HashMap<>();
                    for (NodeProcess n : g.nodes()) {
                        logFrom.put(n, java.nio.file.Files.exists(n.log()) ? java.nio.file.Files.size(n.log()) : 0L);
                    }
                    long faultWall = System.currentTimeMillis();
                    long faultAt = System.nanoTime();
                    inject(g, m, fault, profile);
                    boolean zkFault = fault.startsWith("zk-")
                            && (!fault.equals("zk-partition") || failsafe.equals("on"));
                    NodeProcess finalMaster = fault.equals("pg-kill")
                            ? awaitRestartedInPlace(g, m, oldPid)
                            : zkFault ? awaitAnyMaster(g) : g.awaitNewMaster(m, 120_000);
                    w.awaitAckAfter(System.nanoTime(), 60_000);
                    recover(g, m, fault, profile);
                    Thread.sleep(500);
                    Workload.Result r = w.result(faultAt, finalMaster);
                    double lc = g.lockChanges().stream().filter(c -> c.atNanos() > faultAt && c.byNode()).findFirst().map(c -> (c.atNanos() - faultAt) / 1e9).orElse(Double.NaN);
                    ObjectNode o = JSON.createObjectNode();
                    o.put("fault", fault);
                    o.set("settings", settings(profile, zkServers, sync));
                    o.put("run", run);
                    // (a ZooKeeper outage the master may ride out: unavailable is the longest time without a write)
                    double unavailableS = zkFault ? Math.max(r.unavailableS(), r.maxWriteGapS()) : r.unavailableS();
                    o.put("unavailable_s", round(unavailableS));
                    o.put("leader_change_s", round(lc));
                    // the breakdown: the old lock seen gone (session expiry, or released), the new lock, the
                    // promotion as the new master logged it, the first acknowledged write
                    double gone = g.lockChanges().stream().filter(c -> c.atNanos() > faultAt && c.holder().isEmpty())
                            .findFirst().map(c -> (c.atNanos() - faultAt) / 1e9).orElse(Double.NaN);
                    o.put("lock_gone_s", round(gone));
                    double promoted = promotedS(finalMaster, logFrom.getOrDefault(finalMaster, 0L), faultWall);
                    o.put("promoted_s", round(promoted));
                    if (!Double.isNaN(gone)) {
                        gones.add(gone);
                    }
                    gaps.add(r.maxWriteGapS());
                    if (!Double.isNaN(promoted)) {
                        promotions.add(promoted);
                    }
                    if (waitsForExpiry(fault)) {
                        o.put("overhead_s", round(r.unavailableS() - profile.sessionTimeoutMs() / 1000.0));
                    }
                    o.put("max_write_gap_s", round(r.maxWriteGapS()));
                    o.put("lost_acked_writes", r.lost());
                    o.put("max_writable_masters", r.maxWritable());
                    o.put("acked_writes", r.acked());
                    o.put("old_master", m.name());
                    o.put("new_master", finalMaster.name());
                    System.out.println(o);
                    unavailable.add(unavailableS);
                    if (!Double.isNaN(lc)) {
                        leader.add(lc);
                    }
                    maxWritable = Math.max(maxWritable, r.maxWritable());
                    lostTotal += r.lost();
                }
            }
        }
        ObjectNode s = JSON.createObjectNode();
        s.put("fault", fault);
        s.put("summary", true);
        s.set("settings", settings(profile, zkServers, sync));
        s.put("runs", runs);
        s.put("median_unavailable_s", round(median(unavailable)));
        s.put("max_unavailable_s", round(unavailable.stream().mapToDouble(Double::doubleValue).max().orElse(0)));
        s.put("median_leader_change_s", round(median(leader)));
        s.put("median_lock_gone_s", round(median(gones)));
        s.put("median_promoted_s", round(median(promotions)));
        s.put("median_write_gap_s", round(median(gaps)));
        if (waitsForExpiry(fault)) {
            s.put("median_overhead_s", round(median(unavailable) - profile.sessionTimeoutMs() / 1000.0));
        }
        s.put("lost_acked_writes", lostTotal);
        s.put("max_writable_masters", maxWritable);
        System.out.println(s);
        return maxWritable <= 1 ? 0 : 1;
    }

    /**
     * Time from the lock change to the first new connection through pgbouncer and through HAProxy that lands on the
     * new master (real failovers: the master node is killed).
     */
    static double percentile(List<Double> xs, double p) {
        List<Double> s = xs.stream().sorted().toList();
        if (s.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * s.size()) - 1;
        return s.get(Math.max(0, Math.min(s.size() - 1, i)));
    }

    static void inject(Group g, NodeProcess m, String fault, Profile p) throws Exception {
        switch (fault) {
            case "node-kill" -> m.killNode();
            case "pg-kill" -> m.killPostmaster();
            case "deadman-kill" -> m.killJvm();
            case "deadman-stop" -> m.terminate(60_000);
            case "freeze" -> m.freeze();
            case "zk-partition" -> g.zookeeperLink(m, FaultProxy.Mode.BLACKHOLE);
            case "zk-outage" -> {
                g.zookeeper().stopAll();
                Thread.sleep(Math.round(outageS * 1000));
                g.zookeeper().startAll();
            }
            case "zk-leader-kill" -> {
                int leader = g.zookeeper().leaderIndex();
                if (leader < 0) {
                    throw new IllegalStateException("no ZooKeeper server leads the ensemble");
                }
                g.zookeeper().kill(leader);
                Thread.sleep(Math.round(outageS * 1000));
                g.zookeeper().restart(leader);
            }
            case "switchover" -> {
                // what zgres:switchover writes (the benchmark does it in-process: a ctl JVM's start-up is not the
                // switchover's cost)
                java.time.Instant now = java.time.Instant.now();
                g.observer().create().creatingParentsIfNeeded().forPath(g.paths().switchover(g.name()),
                        zgres.zookeeper.Znodes.encode(new zgres.api.Switchover(
                                zgres.api.Switchover.SWITCHOVER, "", now, now, false, zgres.api.Switchover.REQUESTED,
                                "", zgres.api.Lsn.ZERO)));
            }
            default -> throw new IllegalArgumentException(fault);
        }
    }

    /** Ends the fault (after the group moved on) so that the old master can rejoin. */
    static void recover(Group g, NodeProcess m, String fault, Profile p) throws Exception {
        switch (fault) {
            case "freeze" -> {
                Thread.sleep(p.sessionTimeoutMs() + 1000L);
                m.thaw();
            }
            case "zk-partition" -> {
                Thread.sleep(p.sessionTimeoutMs() + 1000L);
                g.zookeeperLink(m, FaultProxy.Mode.PASS);
            }
            default -> {
                // killed or stopped nodes are started again before the next run
            }
        }
    }

    static NodeProcess awaitRestartedInPlace(Group g, NodeProcess m, long oldPid) throws InterruptedException {
        g.await("the master's PostgreSQL back", 120_000, s -> s.masterConn().isPresent()
                && s.master().get().port() == m.port() && m.postmasterPid().filter(p -> p != oldPid).isPresent()
                && zgres.testkit.Pg.writable(m.host(), m.port()));
        return m;
    }

    /**
     * Keeps a group under write load while other processes saturate every core, and counts what no fault caused:
     * lock changes, fences and PostgreSQL restarts.
     */
    static int stability(double minutes, Profile profile, int zkServers) throws Exception {
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

    static double median(List<Double> xs) {
        List<Double> s = xs.stream().filter(x -> !Double.isNaN(x)).sorted().toList();
        if (s.isEmpty()) {
            return Double.NaN;
        }
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** Rounds to ms; NaN (not measured) becomes null in the JSON. */
    static Double round(double x) {
        return Double.isNaN(x) ? null : Math.round(x * 1000) / 1000.0;
    }

    static String fmt(double x) {
        return String.format(Locale.ROOT, "%.3f", x);
    }

    static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
