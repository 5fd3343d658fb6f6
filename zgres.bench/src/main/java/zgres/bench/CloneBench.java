package zgres.bench;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import zgres.api.NodePhase;
import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;

/**
 * {@code ./zgres bench clone}: the time to add a replica to a group holding {@code --size-mb} of data, by
 * {@code pg_basebackup} from the master and by pgBackRest (the latest backup from a repository, plus the archive),
 * and the master's read I/O in each case: its postmaster's {@code /proc/PID/io} (which takes in what its children
 * read once they exit) plus its live children's, before and after. With {@code --drop-caches} (the default when
 * root) the page cache is emptied before each run, so that {@code read_bytes} is what the master read from disk;
 * {@code rchar} counts what it read through the page cache too. One JSON line per run, then the medians.
 */
final class CloneBench {
    private CloneBench() {}

    record Io(long readBytes, long rchar) {
        Io minus(Io o) {
            return new Io(readBytes - o.readBytes, rchar - o.rchar);
        }
    }

    static int run(int sizeMb, int runs, boolean dropCaches) throws Exception {
        try (Group g = new Group("clonebench", 2, Profile.DEFAULT, 1, Map.of("pg_parameters", new String[] {
            "shared_buffers = '128MB'", "max_connections = 40", "max_wal_size = '1GB'"}, "wal_archive", "pgbackrest"),
                Group.Security.AUTH)) {
            Path repo = g.credentialsDir().getParent().resolve("repo");
            for (NodeProcess n : g.nodes()) {
                n.config("zgres.clone.pgbackrest").putAll(Map.of("repo_path", repo.toString(), "process_max", 2));
            }
            NodeProcess m = g.nodes().get(0);
            NodeProcess r = g.nodes().get(1);
            m.start();
            g.await("the master", 120_000, s -> s.masterConn().isPresent());
            long t0 = System.nanoTime();
            int rows = sizeMb * 1000;
            // random hex (30 different md5 values a row): compresses about as much as typical table data (2x), not
            // like repeated text
            String row = String.join(" || ", java.util.Collections.nCopies(30, "md5(random()::text)"));
            Pg.exec(m.host(), m.port(), "CREATE TABLE data (g int, x text)");
            for (int from = 1; from <= rows; from += 10_000) {
                Pg.exec(m.host(), m.port(), "INSERT INTO data SELECT g, " + row + " FROM generate_series(" + from
                        + ", " + Math.min(rows, from + 9_999) + ") g");
            }
            // settle the table first (hint bits, visibility map, freezing): otherwise autovacuum rewrites it during the
            // runs, reading it on the master and writing a gigabyte of WAL (full-page images) the replicas replay
            try (java.sql.Connection c = Pg.connect(m.host(), m.port(), 600); java.sql.Statement st = c
                    .createStatement()) {
                st.execute("VACUUM (FREEZE, ANALYZE) data");
                st.execute("CHECKPOINT");
            }
            String size = Pg.one(m.host(), m.port(), "SELECT pg_database_size(current_database()) / 1048576");
            System.out.printf(Locale.ROOT, "{\"bench\":\"clone\",\"phase\":\"load\",\"database_mb\":%s,\"load_s\":%.1f}%n",
                    size, (System.nanoTime() - t0) / 1e9);
            t0 = System.nanoTime();
            // (the harness echoes ctl commands on stdout: JSON lines only there)
            java.io.PrintStream out = System.out;
            Group.CtlResult b;
            System.setOut(System.err);
            try {
                b = g.ctl("backup", "--wait", "3600", "clonebench");
            } finally {
                System.setOut(out);
            }
            if (b.exitCode() != 0) {
                throw new IllegalStateException("the backup failed: " + b.out());
            }
            System.out.printf(Locale.ROOT, "{\"bench\":\"clone\",\"phase\":\"backup\",\"backup_s\":%.1f,\"out\":\"%s\"}%n",
                    (System.nanoTime() - t0) / 1e9, b.out().strip().replace("\"", "'"));
            Map<String, List<double[]>> results = new java.util.LinkedHashMap<>();
            for (String method : List.of("basebackup", "pgbackrest")) {
                for (int i = 1; i <= runs; i++) {
                    r.set("clone_methods", new String[] {method});
                    deleteTree(r.dataDir());
                    if (dropCaches) {
                        dropCaches();
                    }
                    long pm = m.postmasterPid().orElseThrow();
                    Io before = treeIo(pm);
                    long start = System.nanoTime();
                    r.start();
                    g.await(r + " streaming", 3_600_000, s -> s.state(g.id(r)).map(st -> st.phase()
                            == NodePhase.STREAMING).orElse(false) && s.conns().containsKey(g.id(r)));
                    double total = (System.nanoTime() - start) / 1e9;
                    Io io = treeIo(pm).minus(before);
                    String built = g.state().state(g.id(r)).map(st -> String.valueOf(st.metadata().get("built_by")))
                            .orElse("");
                    double buildS = Double.parseDouble(built.replaceAll("^\\S+ in ([0-9.]+) s.*$", "$1"));
                    results.computeIfAbsent(method, k -> new ArrayList<>()).add(new double[] {total, buildS,
                        io.readBytes() / 1048576.0, io.rchar() / 1048576.0});
                    System.out.printf(Locale.ROOT, "{\"bench\":\"clone\",\"method\":\"%s\",\"run\":%d,\"database_mb\":%s,"
                            + "\"to_streaming_s\":%.1f,\"build_s\":%.1f,\"master_read_mb\":%.1f,"
                            + "\"master_rchar_mb\":%.1f,\"drop_caches\":%b}%n", method, i, size, total, buildS,
                            io.readBytes() / 1048576.0, io.rchar() / 1048576.0, dropCaches);
                    if (!built.startsWith(method + " in")) {
                        throw new IllegalStateException("expected a replica built by " + method + ", got: " + built);
                    }
                    r.close();
                }
            }
            results.forEach((method, l) -> System.out.printf(Locale.ROOT, "{\"bench\":\"clone\",\"summary\":\"%s\","
                    + "\"runs\":%d,\"database_mb\":%s,\"median_to_streaming_s\":%.1f,\"median_build_s\":%.1f,"
                    + "\"median_master_read_mb\":%.1f,\"median_master_rchar_mb\":%.1f}%n", method, l.size(), size,
                    median(l, 0), median(l, 1), median(l, 2), median(l, 3)));
        }
        return 0;
    }

    static double median(List<double[]> l, int i) {
        double[] v = l.stream().mapToDouble(x -> x[i]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The postmaster's I/O (with its reaped children's) and its live children's. */
    static Io treeIo(long pid) throws IOException {
        Io sum = io(pid);
        for (ProcessHandle c : ProcessHandle.of(pid).map(p -> p.children().toList()).orElse(List.of())) {
            try {
                Io x = io(c.pid());
                sum = new Io(sum.readBytes() + x.readBytes(), sum.rchar() + x.rchar());
            } catch (IOException e) {
                // exited meanwhile: the postmaster has its counters once it reaped it
            }
        }
        return sum;
    }

    static Io io(long pid) throws IOException {
        long rb = 0;
        long rc = 0;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "io"))) {
            if (line.startsWith("read_bytes:")) {
                rb = Long.parseLong(line.substring(11).trim());
            } else if (line.startsWith("rchar:")) {
                rc = Long.parseLong(line.substring(6).trim());
            }
        }
        return new Io(rb, rc);
    }

    static void dropCaches() throws IOException, InterruptedException {
        new ProcessBuilder("sync").inheritIO().start().waitFor(60, TimeUnit.SECONDS);
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        Files.walkFileTree(p, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
