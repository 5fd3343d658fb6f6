package zgres.bench;

import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import zgres.api.ConnInfo;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Routing;

/**
 * One routed failover, as {@code bench routing} and {@code bench scale} measure it: the master's node killed, then
 * when the new lock came, and when pgbouncer, HAProxy and ZooKeeper's {@code /conn} of the master first pointed at one
 * of the other nodes (each polled every 2 ms, for at most 60 s; 0: not seen).
 *
 * @param logAt the size of each other node's log at the kill (to show what it did meanwhile)
 */
record RoutingEpisode(long killNanos, long lockNanos, long pgbouncerNanos, long haproxyNanos, long connNanos,
        Map<NodeProcess, Long> logAt) {

    static RoutingEpisode kill(Group g, Routing r, NodeProcess m) throws Exception {
        int changes = g.lockChanges().size();
        Map<NodeProcess, Long> logAt = new HashMap<>();
        for (NodeProcess n : g.nodes()) {
            if (n != m) {
                logAt.put(n, Files.size(n.log()));
            }
        }
        long kill = System.nanoTime();
        m.killNode();
        List<Integer> candidates = g.nodes().stream().filter(n -> n != m).map(NodeProcess::port).toList();
        // the new lock: held by one of the other nodes (not the dead master's lock, seen for a moment without its
        // /state as the expired session's znodes disappear)
        List<String> newHolders = g.nodes().stream().filter(n -> n != m).map(n -> g.id(n).toString()).toList();
        long[] landed = new long[3];
        Thread[] pollers = new Thread[3];
        for (int i = 0; i < 3; i++) {
            final int idx = i;
            pollers[i] = new Thread(() -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (System.nanoTime() < deadline) {
                    // (the third: when ZooKeeper shows the new master's /conn, which routing needs)
                    int port = idx == 2 ? g.state().masterConn().map(ConnInfo::port).orElse(-1)
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
        long lockAt = g.lockChanges().stream().skip(changes).filter(c -> newHolders.contains(c.holder()))
                .findFirst().map(Group.LockChange::atNanos).orElse(0L);
        return new RoutingEpisode(kill, lockAt, landed[0], landed[1], landed[2], logAt);
    }

    /** @return true when the new lock and both proxies' routes were seen */
    boolean complete() {
        return lockNanos != 0 && pgbouncerNanos != 0 && haproxyNanos != 0;
    }

    double failoverMs() {
        return (lockNanos - killNanos) / 1e6;
    }

    double pgbouncerMs() {
        return (pgbouncerNanos - lockNanos) / 1e6;
    }

    double haproxyMs() {
        return (haproxyNanos - lockNanos) / 1e6;
    }

    /** @return when the new master's /conn was there for the proxies, after the lock (0: with it) */
    double masterConnMs() {
        return Math.max(0, (connNanos - lockNanos) / 1e6);
    }
}
