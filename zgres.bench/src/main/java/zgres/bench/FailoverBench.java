package zgres.bench;

import static zgres.bench.Bench.JSON;
import static zgres.bench.Bench.median;
import static zgres.bench.Bench.round;
import static zgres.bench.Bench.security;
import static zgres.bench.Bench.settings;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.FaultProxy;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * {@code ./zgres bench failover}: a 3-node group under the writer and the writability probe, one fault per run, one
 * JSON line per run and a summary line with medians.
 */
final class FailoverBench {
    private FailoverBench() {
    }

    /** --outage-s: how long a zk-outage keeps the ensemble down (and zk-leader-kill its leader) */
    static double outageS = 8;

    /** --failsafe on|off (the profile's by default: on in the default profile, off in the fast one) */
    static String failsafe = "on";

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

    /** After a ZooKeeper fault: the group's master (the same node when it rode the outage out). */
    static NodeProcess awaitAnyMaster(Group g) throws InterruptedException {
        // (writable: a master fenced during the fault may still be listed until its session expires)
        g.await("a writable master with its /conn", 180_000, x -> x.masterConn().isPresent() && x.master().flatMap(
                x::state).filter(st -> st.role() == zgres.api.Role.MASTER).isPresent() && zgres.testkit.Pg.writable(
                        x.master().get().host(), x.master().get().port()));
        int port = g.master().orElseThrow().port();
        return g.nodes().stream().filter(n -> n.port() == port).findFirst().orElseThrow();
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
                Thread.sleep(3000); // as below
            }
            case "zk-outage", "zk-leader-kill" -> {
                // the renewals in flight during the outage complete now: a fence they caused shows as a write gap
                Thread.sleep(3000);
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
}
