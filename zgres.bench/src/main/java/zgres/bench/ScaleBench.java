package zgres.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.api.NodeId;
import zgres.testkit.Group;
import zgres.testkit.Identities;
import zgres.testkit.NodeProcess;
import zgres.testkit.Profile;
import zgres.testkit.Routing;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.ZkPaths;

/**
 * {@code ./zgres bench scale --groups N}: one 3-server ensemble serving N simulated groups of 3 nodes ({@link SimNode}:
 * the deadman's real publishing and lease code, no PostgreSQL), a real group with PostgreSQL (3 real node processes),
 * and a real sync daemon process with the pgbouncer (every group) and HAProxy (the real group) plugins. During the
 * measured window, a simulated group hands its lock over every {@code --handover-ms} (lock change → the pgbouncer
 * databases file written by the sync daemon names the new master: the plugin's latency, with many samples) and the real
 * group's master node is killed every {@code --failover-s} (kill → new lock; lock → both proxies route to it).
 *
 * <p>
 * Also measured: ZooKeeper transactions/s (zxid over the window), cache events/s of a reader of every group (what the
 * sync daemon handles) and of a reader of the real group in both designs ({@link ClusterReader.Watches}: one tree
 * cache, or watches of its own group), the sync daemon's CPU per snapshot (its process, {@code /proc}) and heap after
 * a full GC ({@code jcmd}), a real deadman's heap.
 */
final class ScaleBench {
    private static final String REAL = "real";
    private static final String SYSTEM_ID = "7000000000000000001";
    private static final Pattern DB_LINE = Pattern.compile("^(s\\d+) = host=(\\S+) port=(\\d+) ", Pattern.MULTILINE);

    private ScaleBench() {
    }

    record Handover(String group, String address, long lockNanos) {}

    static int run(List<Integer> sizes, double minutes, Profile profile, long handoverMs, long failoverS,
            boolean lsnMoving) throws Exception {
        for (int n : sizes) {
            runOne(n, minutes, profile, handoverMs, failoverS, lsnMoving);
        }
        return 0;
    }

    private static void runOne(int n, double minutes, Profile profile, long handoverMs, long failoverS,
            boolean lsnMoving) throws Exception {
        List<SimNode> sims = new CopyOnWriteArrayList<>();
        Map<String, List<SimNode>> simGroups = new ConcurrentHashMap<>();
        ScheduledExecutorService loops = Executors.newScheduledThreadPool(4);
        ObjectNode out = Bench.JSON.createObjectNode();
        out.put("bench", "scale");
        out.put("groups", n);
        out.put("simulated_nodes", 3 * n);
        out.put("lsn_moving", lsnMoving);
        try (Group g = new Group(REAL, 3, profile, 3, Map.of())) {
            g.start();
            g.awaitHealthy(3, 180_000);
            ZkPaths paths = g.paths();
            String connect = g.zookeeper().connectString();
            // the simulated groups: db-id, 3 sessions each, the first node takes the lock
            long t0 = System.nanoTime();
            ExecutorService starter = Executors.newFixedThreadPool(16);
            List<Future<?>> started = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String name = String.format("s%04d", i);
                int group = i;
                started.add(starter.submit(() -> {
                    g.observer().create().orSetData().creatingParentsIfNeeded().forPath(paths.dbId(name), SYSTEM_ID
                            .getBytes());
                    List<SimNode> members = new ArrayList<>();
                    for (int k = 0; k < 3; k++) {
                        NodeId id = NodeId.parse(name + "_127.0.1." + (1 + k) + ":" + (20000 + group));
                        SimNode s = new SimNode(g.identities(), connect, paths, id, profile);
                        s.start();
                        members.add(s);
                        sims.add(s);
                    }
                    if (!members.get(0).takeLock()) {
                        throw new IllegalStateException(name + ": the lock of a new group is taken");
                    }
                    members.forEach(m -> m.follow(members.get(0).id));
                    simGroups.put(name, members);
                    return null;
                }));
            }
            for (Future<?> f : started) {
                f.get(10, TimeUnit.MINUTES);
            }
            starter.shutdown();
            out.put("simulated_start_s", Bench.round((System.nanoTime() - t0) / 1e9));
            for (SimNode s : sims) {
                long jitter = ThreadLocalRandom.current().nextLong(profile.loopWaitMs());
                loops.scheduleAtFixedRate(() -> {
                    try {
                        s.cycle(lsnMoving);
                    } catch (RuntimeException e) {
                        System.err.println("scale: " + s.id + ": " + e);
                    }
                }, jitter, profile.loopWaitMs(), TimeUnit.MILLISECONDS);
            }
            try (Routing r = new Routing(g)) {
                Path dbFile = r.work.resolve("pgbouncer").resolve("databases.ini");
                awaitRouted(dbFile, simGroups, 600_000);
                measure(g, r, dbFile, simGroups, minutes, handoverMs, failoverS, out);
            } finally {
                // before the ensemble goes
                loops.shutdownNow();
                ExecutorService closer = Executors.newFixedThreadPool(16);
                for (SimNode s : sims) {
                    closer.submit(s::close);
                }
                closer.shutdown();
                closer.awaitTermination(2, TimeUnit.MINUTES);
            }
        }
        out.set("settings", Bench.settings(profile, 3));
        System.out.println(out);
    }

    /** Waits until the sync daemon's pgbouncer file routes every simulated group to its master. */
    private static void awaitRouted(Path dbFile, Map<String, List<SimNode>> groups, long timeoutMs)
            throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < until) {
            if (routed(dbFile).size() >= groups.size()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the sync daemon did not route every simulated group within " + timeoutMs
                + " ms (" + routed(dbFile).size() + " of " + groups.size() + ")");
    }

    /** @return simulated group to master address, as the pgbouncer databases file says */
    static Map<String, String> routed(Path dbFile) {
        Map<String, String> m = new HashMap<>();
        try {
            Matcher x = DB_LINE.matcher(Files.readString(dbFile));
            while (x.find()) {
                m.put(x.group(1), x.group(2) + ":" + x.group(3));
            }
        } catch (IOException e) {
            // not written yet
        }
        return m;
    }

    private static void measure(Group g, Routing r, Path dbFile, Map<String, List<SimNode>> simGroups,
            double minutes, long handoverMs, long failoverS, ObjectNode out) throws Exception {
        CuratorFramework probe = g.observer();
        ZkPaths paths = g.paths();
        Identities ids = g.identities();
        String connect = g.zookeeper().connectString();
        List<CuratorFramework> clients = new ArrayList<>();
        List<ClusterReader> readers = new ArrayList<>();
        try {
            ClusterReader all = reader(ids, connect, paths, clients, readers, "all", Set.of(),
                    ClusterReader.Watches.TREE);
            ClusterReader tree = reader(ids, connect, paths, clients, readers, "tree", Set.of(REAL),
                    ClusterReader.Watches.TREE);
            ClusterReader byGroup = reader(ids, connect, paths, clients, readers, "group", Set.of(REAL),
                    ClusterReader.Watches.GROUP);
            Thread.sleep(2000);
            long pid = r.daemon().pid();
            long zxid0 = zxid(probe, paths);
            long cpu0 = ProcessStats.cpuTicks(pid);
            long seq0 = sequence(r);
            long allEv0 = all.events();
            long treeEv0 = tree.events();
            long groupEv0 = byGroup.events();
            long groupList0 = byGroup.listings();
            long start = System.nanoTime();
            long end = start + (long) (minutes * 60e9);

            // simulated handovers, and the pgbouncer file watched for them
            Map<String, Handover> pending = new ConcurrentHashMap<>();
            List<Double> pluginMs = new CopyOnWriteArrayList<>();
            Thread watcher = new Thread(() -> {
                while (System.nanoTime() < end + TimeUnit.SECONDS.toNanos(10) && !Thread.currentThread()
                        .isInterrupted()) {
                    if (!pending.isEmpty()) {
                        Map<String, String> now = routed(dbFile);
                        long t = System.nanoTime();
                        for (Handover h : pending.values()) {
                            if (h.address().equals(now.get(h.group())) && pending.remove(h.group(), h)) {
                                pluginMs.add((t - h.lockNanos()) / 1e6);
                            }
                        }
                    }
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "scale-watcher");
            watcher.setDaemon(true);
            watcher.start();
            Thread handovers = new Thread(() -> handovers(simGroups, pending, handoverMs, end), "scale-handovers");
            handovers.setDaemon(true);
            handovers.start();

            // the real group: a master node killed every failoverS
            List<Double> failoverMs = new ArrayList<>();
            List<Double> realPgbMs = new ArrayList<>();
            List<Double> realHapMs = new ArrayList<>();
            long nextKill = start + TimeUnit.SECONDS.toNanos(Math.min(failoverS, 20));
            int realUnhealthy = 0;
            while (System.nanoTime() < end) {
                if (System.nanoTime() >= nextKill) {
                    try {
                        realFailover(g, r, failoverMs, realPgbMs, realHapMs);
                    } catch (IllegalStateException | AssertionError e) {
                        // the machine cannot keep the group healthy at this size: say so in the result
                        realUnhealthy++;
                        System.err.println("scale: the real group: " + e.getMessage());
                    }
                    nextKill += TimeUnit.SECONDS.toNanos(failoverS);
                }
                Thread.sleep(200);
            }
            out.put("real_group_not_healthy", realUnhealthy);
            handovers.join();
            double seconds = (System.nanoTime() - start) / 1e9;
            long zxid1 = zxid(probe, paths);
            long cpu1 = ProcessStats.cpuTicks(pid);
            long seq1 = sequence(r);
            watcher.join(15_000);
            watcher.interrupt();

            out.put("window_s", Bench.round(seconds));
            out.put("zk_txn_per_s", Bench.round((zxid1 - zxid0) / seconds));
            out.put("zk_txn_per_idle_node_per_s", Bench.round((zxid1 - zxid0) / seconds / (3.0 * simGroups.size())));
            out.put("sync_cache_events_per_s", Bench.round((all.events() - allEv0) / seconds));
            out.put("deadman_tree_cache_events_per_s", Bench.round((tree.events() - treeEv0) / seconds));
            out.put("deadman_group_watch_events_per_s", Bench.round((byGroup.events() - groupEv0) / seconds));
            out.put("deadman_group_listings_per_s", Bench.round((byGroup.listings() - groupList0) / seconds));
            out.put("handovers", pluginMs.size());
            out.put("handovers_unseen", pending.size());
            out.put("lock_to_plugin_p50_ms", Bench.round(Bench.percentile(pluginMs, 50)));
            out.put("lock_to_plugin_p99_ms", Bench.round(Bench.percentile(pluginMs, 99)));
            long snapshots = seq1 - seq0;
            out.put("sync_snapshots_per_s", Bench.round(snapshots / seconds));
            double cpuS = (cpu1 - cpu0) / 100.0; // USER_HZ
            out.put("sync_cpu_percent", Bench.round(100 * cpuS / seconds));
            out.put("sync_cpu_ms_per_snapshot", snapshots == 0 ? 0 : Bench.round(1000 * cpuS / snapshots));
            out.put("sync_heap_mb", Bench.round(ProcessStats.heapMb(pid, r.daemon().user())));
            out.put("sync_rss_mb", Bench.round(ProcessStats.rssMb(pid)));
            NodeProcess replica = g.nodes().stream().filter(x -> x.alive() && g.master().map(m -> m != x).orElse(true))
                    .findFirst().orElseThrow();
            out.put("deadman_heap_mb", Bench.round(ProcessStats.heapMb(replica.pid(), replica.user())));
            ProcessStats.histogram(replica.pid(), replica.user(), "scale-" + simGroups.size() + "-deadman");
            ProcessStats.histogram(pid, r.daemon().user(), "scale-" + simGroups.size() + "-sync");
            out.put("deadman_rss_mb", Bench.round(ProcessStats.rssMb(replica.pid())));
            out.put("real_failovers", failoverMs.size());
            out.put("real_failover_s", Bench.round(Bench.median(failoverMs) / 1000));
            out.put("real_lock_to_pgbouncer_ms", Bench.round(Bench.median(realPgbMs)));
            out.put("real_lock_to_haproxy_ms", Bench.round(Bench.median(realHapMs)));
            out.put("bench_cached_znodes_all", all.cachedZnodes());
        } finally {
            readers.forEach(ClusterReader::close);
            clients.forEach(CuratorFramework::close);
        }
    }

    private static ClusterReader reader(Identities ids, String connect, ZkPaths paths, List<CuratorFramework> clients,
            List<ClusterReader> readers, String name, Set<String> groups, ClusterReader.Watches w)
            throws InterruptedException {
        CuratorFramework c = ids.client(Identities.Role.OPERATOR, connect, paths);
        c.start();
        clients.add(c);
        ClusterReader r = new ClusterReader(c, paths, "bench-" + name, groups, w);
        readers.add(r);
        r.start();
        if (!r.awaitInitialized(120, TimeUnit.SECONDS)) {
            throw new IllegalStateException("reader " + name + " not initialized in 120 s");
        }
        return r;
    }

    /** A simulated group's master hands its lock to another member every {@code everyMs}, until {@code end}. */
    private static void handovers(Map<String, List<SimNode>> groups, Map<String, Handover> pending, long everyMs,
            long end) {
        List<String> names = new ArrayList<>(groups.keySet());
        Random random = new Random(42);
        while (System.nanoTime() < end) {
            String name = names.get(random.nextInt(names.size()));
            if (!pending.containsKey(name)) {
                List<SimNode> members = groups.get(name);
                SimNode old = members.stream().filter(SimNode::master).findFirst().orElse(null);
                try {
                    if (old != null) {
                        old.releaseLock();
                    }
                    SimNode next = members.get((members.indexOf(old) + 1) % members.size());
                    if (next.takeLock()) {
                        long at = System.nanoTime();
                        members.forEach(m -> m.follow(next.id));
                        next.cycle(false);
                        pending.put(name, new Handover(name, next.id.address(), at));
                    }
                } catch (Exception e) {
                    System.err.println("scale: handover of " + name + ": " + e);
                }
            }
            try {
                Thread.sleep(everyMs);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Kills the real group's master node; kill → new lock, new lock → each proxy routes to the new master. */
    private static void realFailover(Group g, Routing r, List<Double> failoverMs, List<Double> pgbMs,
            List<Double> hapMs) throws Exception {
        for (NodeProcess x : g.nodes()) {
            if (!x.alive()) {
                x.start();
            }
        }
        g.awaitHealthy(3, 120_000);
        NodeProcess m = g.master().orElseThrow(() -> new IllegalStateException("no master"));
        RoutingEpisode e = RoutingEpisode.kill(g, r, m);
        if (!e.complete()) {
            System.err.println("scale: the real group's failover was not seen within 60 s");
            return;
        }
        failoverMs.add(e.failoverMs());
        pgbMs.add(e.pgbouncerMs());
        hapMs.add(e.haproxyMs());
        m.start(); // rejoins in the background
    }

    /** @return the ensemble's last transaction id (a write of a probe znode) */
    private static long zxid(CuratorFramework c, ZkPaths paths) throws Exception {
        String p = paths.root() + "/bench-probe";
        Stat st = c.checkExists().forPath(p);
        if (st == null) {
            c.create().withMode(CreateMode.PERSISTENT).forPath(p, new byte[0]);
        }
        return c.setData().forPath(p, new byte[0]).getMzxid();
    }

    /** @return the sequence of the last snapshot the sync daemon's plugins got */
    private static long sequence(Routing r) throws IOException, InterruptedException {
        return r.status().values().stream().mapToLong(Routing.PluginStatus::sequence).max().orElse(0);
    }
}
