package zgres.testkit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The checker every acceptance test runs: a writer that records each acknowledged write (a committed INSERT), and a
 * prober that asks every node every 100 ms, in parallel and over new connections, whether it accepts writes.
 * Afterwards it tells how many acknowledged writes the final master lacks and the most nodes ever writable at once.
 */
public final class Workload implements AutoCloseable {
    public record Ack(long id, String node, long atNanos) {}

    public record Probe(long atNanos, List<String> writable) {}

    /** What an episode measured. */
    public record Result(int maxWritable, List<Probe> violations, int acked, int lost, List<Long> lostIds,
            double unavailableS, double maxWriteGapS, String finalMaster) {}

    private final List<NodeProcess> nodes;
    private final List<Ack> acks = new CopyOnWriteArrayList<>();
    private final List<Probe> probes = new CopyOnWriteArrayList<>();
    private final List<Long> failures = new CopyOnWriteArrayList<>();
    private final AtomicLong ids = new AtomicLong();
    private final ExecutorService probePool;
    private volatile boolean running;
    private volatile String current;
    private Thread writer;
    private Thread prober;

    public Workload(List<NodeProcess> nodes) {
        this.nodes = List.copyOf(nodes);
        this.probePool = Executors.newFixedThreadPool(nodes.size(), r -> {
            Thread t = new Thread(r, "zgres-probe");
            t.setDaemon(true);
            return t;
        });
    }

    public void start() throws SQLException {
        NodeProcess m = writableNode().orElseThrow(() -> new IllegalStateException("no writable node"));
        Pg.exec(m.host(), m.port(), "CREATE TABLE IF NOT EXISTS zgres_check (id bigint PRIMARY KEY, "
                + "at timestamptz NOT NULL DEFAULT now())");
        try (Connection c = Pg.connect(m.host(), m.port(), 3); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT coalesce(max(id), 0) FROM zgres_check")) {
            rs.next();
            ids.set(rs.getLong(1));
        }
        running = true;
        writer = new Thread(this::write, "zgres-writer");
        prober = new Thread(this::probe, "zgres-prober");
        writer.setDaemon(true);
        prober.setDaemon(true);
        writer.start();
        prober.start();
    }

    private Optional<NodeProcess> writableNode() {
        for (NodeProcess n : nodes) {
            if (Pg.writable(n.host(), n.port())) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }

    private void write() {
        while (running) {
            Optional<NodeProcess> target = writableNode();
            if (target.isEmpty()) {
                failures.add(System.nanoTime());
                sleep(20);
                continue;
            }
            NodeProcess n = target.get();
            current = n.name();
            try (Connection c = Pg.connect(n.host(), n.port(), 1);
                    PreparedStatement ps = c.prepareStatement("INSERT INTO zgres_check (id) VALUES (?)")) {
                ps.setQueryTimeout(3);
                while (running) {
                    long id = ids.incrementAndGet();
                    ps.setLong(1, id);
                    ps.executeUpdate();
                    if (replicationWaitCancelled(ps.getWarnings())) {
                        // PostgreSQL committed locally but told the client it may not be replicated: not an ack
                        failures.add(System.nanoTime());
                        continue;
                    }
                    acks.add(new Ack(id, n.name(), System.nanoTime()));
                    sleep(5);
                }
            } catch (SQLException e) {
                failures.add(System.nanoTime());
                sleep(10);
            }
        }
    }

    /** The warning PostgreSQL gives when a commit's wait for a synchronous standby was cancelled. */
    static boolean replicationWaitCancelled(java.sql.SQLWarning w) {
        for (; w != null; w = w.getNextWarning()) {
            if (String.valueOf(w.getMessage()).contains("synchronous replication")) {
                return true;
            }
        }
        return false;
    }

    private void probe() {
        while (running) {
            long t0 = System.nanoTime();
            List<Future<Boolean>> fs = new ArrayList<>();
            for (NodeProcess n : nodes) {
                fs.add(probePool.submit(() -> Pg.writable(n.host(), n.port())));
            }
            List<String> writable = new ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                try {
                    if (fs.get(i).get(5, TimeUnit.SECONDS)) {
                        writable.add(nodes.get(i).name());
                    }
                } catch (Exception e) {
                    // a probe that does not answer is not writable
                }
            }
            probes.add(new Probe(t0, List.copyOf(writable)));
            long left = 100 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            if (left > 0) {
                sleep(left);
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public int ackCount() {
        return acks.size();
    }

    public List<Ack> acks() {
        return acks;
    }

    /** Waits until the writer got an acknowledgment from some node after {@code sinceNanos}. */
    public boolean awaitAckAfter(long sinceNanos, long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < deadline) {
            if (!acks.isEmpty() && acks.get(acks.size() - 1).atNanos() > sinceNanos) {
                return true;
            }
            sleep(20);
        }
        return false;
    }

    public void stop() {
        running = false;
        try {
            if (writer != null) {
                writer.join(10_000);
            }
            if (prober != null) {
                prober.join(10_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops and evaluates an episode.
     *
     * @param faultAtNanos when the fault was injected
     * @param finalMaster the node that is master at the end (its table is the truth)
     */
    public Result result(long faultAtNanos, NodeProcess finalMaster) throws SQLException {
        stop();
        int max = 0;
        List<Probe> violations = new ArrayList<>();
        for (Probe p : probes) {
            max = Math.max(max, p.writable().size());
            if (p.writable().size() > 1) {
                violations.add(p);
            }
        }
        Set<Long> present = new HashSet<>();
        for (int attempt = 0;; attempt++) {
            try (Connection c = Pg.connect(finalMaster.host(), finalMaster.port(), 5);
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT id FROM zgres_check")) {
                while (rs.next()) {
                    present.add(rs.getLong(1));
                }
                break;
            } catch (SQLException e) {
                if (attempt > 60) {
                    throw e;
                }
                sleep(500);
            }
        }
        List<Long> lost = new ArrayList<>();
        for (Ack a : acks) {
            if (!present.contains(a.id())) {
                lost.add(a.id());
            }
        }
        // the outage ends with the last failed write after the fault: the first acknowledgment after it is on the
        // (new) master
        long lastFailure = failures.stream().filter(t -> t > faultAtNanos).mapToLong(Long::longValue).max()
                .orElse(faultAtNanos);
        double unavailable = Double.NaN;
        for (Ack a : acks) {
            if (a.atNanos() > lastFailure && a.node().equals(finalMaster.name())) {
                unavailable = (a.atNanos() - faultAtNanos) / 1e9;
                break;
            }
        }
        double gap = 0;
        long prev = faultAtNanos;
        for (Ack a : acks) {
            if (a.atNanos() < faultAtNanos) {
                continue;
            }
            gap = Math.max(gap, (a.atNanos() - prev) / 1e9);
            prev = a.atNanos();
        }
        return new Result(max, violations, acks.size(), lost.size(), lost, unavailable, gap, finalMaster.name());
    }

    @Override
    public void close() {
        stop();
        probePool.shutdownNow();
    }
}
