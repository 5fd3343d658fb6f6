package zgres.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.curator.framework.CuratorFramework;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.Identities;
import zgres.testkit.OsUser;
import zgres.testkit.Pg;
import zgres.testkit.Profile;
import zgres.testkit.ZkEnsemble;
import zgres.zookeeper.ZkPaths;

/**
 * {@code ./zgres bench config}: one runtime (a deadman with its PostgreSQL, the sync daemon and an apply plugin) with
 * its Gogo console on a pipe, and a ZooKeeper server.
 * <ul>
 * <li>config: a write to {@code /config/all/...} until the component's {@code @Modified} ran (its "configuration
 * updated live" log line), for the deadman's cluster settings and for the apply plugin;</li>
 * <li>bundle: {@code update <id> file:...} typed into the console until the new plugin's first snapshot ran its
 * executable (which records the time).</li>
 * </ul>
 * Times are taken on one machine: the bench's clock at the write, the runtime's log time (ms) or the executable's
 * clock at the effect.
 */
final class ConfigBench implements AutoCloseable {
    private static final Pattern LOG_TIME = Pattern.compile("^(\\d\\d):(\\d\\d):(\\d\\d)\\.(\\d{3}) ");
    private final Path dir;
    private final ZkEnsemble zk;
    private final CuratorFramework client;
    private final Process runtime;
    private final OutputStream console;
    private final Path log;
    private final Path stamps;
    private final Path applyJar;
    private final Identities identities = new Identities();

    ConfigBench(Path home, Path jar) throws Exception {
        dir = Files.createTempDirectory("zgres-bench-config-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String user = OsUser.runtimeUser();
        OsUser.own(dir, user);
        // authentication and ACLs on, as in production: this bench writes /config as an operator
        zk = new ZkEnsemble(1, 100);
        client = identities.client(Identities.Role.OPERATOR, zk.connectString(), new ZkPaths("/zgres"));
        client.start();
        client.blockUntilConnected(20, TimeUnit.SECONDS);
        applyJar = Files.list(home.resolve("zgres.plugin.apply/target"))
                .filter(p -> p.getFileName().toString().matches("zgres\\.plugin\\.apply-[0-9.]+\\.jar")).findFirst()
                .orElseThrow(() -> new IllegalStateException("no zgres.plugin.apply jar: run ./zgres build"));
        stamps = dir.resolve("stamps");
        Path exe = dir.resolve("stamp.sh");
        Files.writeString(exe, "#!/bin/sh\ndate +%s%N >> " + stamps + "\n");
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-xr-x"));
        // the apply plugin is defined in the local file (its file and program are local-only); ZooKeeper tunes
        // its timeout
        put("all", "zgres.plugin.apply~bench", Map.of("timeout_ms", 30_000));

        Map<String, Object> d = new LinkedHashMap<>();
        d.put("group", "cfg");
        d.put("host", "127.0.0.1");
        d.put("port", freePort());
        d.put("data_dir", dir.resolve("n1").toString());
        d.put("superuser_password", Pg.PASSWORD);
        d.put("replication_password", Pg.PASSWORD);
        d.put("pg_parameters", List.of("shared_buffers = '16MB'", "max_connections = 20"));
        d.putAll(Profile.DEFAULT.deadmanSettings());
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("zgres.zookeeper", identities.runtimeConfig(Identities.Role.NODE, zk.connectString(),
                dir.resolve("credentials"), user));
        cfg.put("zgres.deadman~n1", d);
        cfg.put("zgres.sync", Map.of("debounce_ms", 20));
        cfg.put("zgres.plugin.apply~bench", Map.of("path", dir.resolve("cluster.json").toString(), "executables",
                List.of(exe.toString())));
        Path config = dir.resolve("runtime.json");
        Files.createFile(config, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Bench.JSON.writeValue(config.toFile(), cfg);
        OsUser.own(config, user);
        log = dir.resolve("runtime.log");
        List<String> cmd = new ArrayList<>(OsUser.as(user));
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms24m", "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.util.logging.config.file=/dev/null", "-Dorg.osgi.framework.storage=" + dir.resolve("felix"),
                "-Dzgres.config.file=" + config, "-Dorg.slf4j.simpleLogger.logFile=System.out", "-jar",
                jar.toString()));
        // the console reads the pipe: what an operator types, this bench writes
        runtime = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        console = runtime.getOutputStream();
        System.err.println("bench config: runtime log " + log);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    void put(String scope, String pid, Map<String, Object> props) throws Exception {
        String path = "/zgres/config/" + scope + "/" + pid;
        byte[] data = Bench.JSON.writeValueAsBytes(props);
        if (client.checkExists().forPath(path) == null) {
            client.create().creatingParentsIfNeeded().forPath(path, data);
        } else {
            client.setData().forPath(path, data);
        }
    }

    /** Waits for the deadman to be a healthy master (bootstrap done) and the apply plugin to have run once. */
    void awaitReady(long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            if (client.checkExists().forPath("/zgres/lock/cfg") != null && client.checkExists().forPath("/zgres/conn")
                    != null && !client.getChildren().forPath("/zgres/conn").isEmpty() && stampCount() > 0) {
                return;
            }
            if (!runtime.isAlive()) {
                throw new IllegalStateException("the runtime exited; see " + log);
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the node did not become master with the apply plugin run; see " + log);
    }

    int stampCount() throws IOException {
        return Files.exists(stamps) ? Files.readAllLines(stamps).size() : 0;
    }

    /** @return the epoch ms of the first log line after {@code from} lines that matches, waiting for it */
    long awaitLogLine(int from, Predicate<String> match, long timeoutMs) throws Exception {
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = from; i < lines.size(); i++) {
                if (match.test(lines.get(i))) {
                    Matcher m = LOG_TIME.matcher(lines.get(i));
                    if (!m.find()) {
                        throw new IllegalStateException("no time on log line: " + lines.get(i));
                    }
                    LocalTime t = LocalTime.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                            Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)) * 1_000_000);
                    return t.atDate(LocalDate.now()).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
                }
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("no matching log line within " + timeoutMs + " ms; see " + log);
    }

    int logLines() throws IOException {
        return Files.readAllLines(log, StandardCharsets.UTF_8).size();
    }

    /** Writes one line to the console and waits until its output is in the log. */
    String type(String line, String expect, long timeoutMs) throws Exception {
        int from = logLines();
        console.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        console.flush();
        long end = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < end) {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = from; i < lines.size(); i++) {
                if (lines.get(i).contains(expect)) {
                    return lines.get(i);
                }
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("'" + line + "' did not print '" + expect + "'; see " + log);
    }

    /** The apply bundle with another Bundle-Version (its entries unchanged). */
    Path applyJarVersion(String version) throws IOException {
        Path out = dir.resolve("zgres.plugin.apply-" + version + ".jar");
        try (JarFile in = new JarFile(applyJar.toFile())) {
            Manifest m = new Manifest(in.getManifest());
            m.getMainAttributes().put(new Attributes.Name("Bundle-Version"), version);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (JarOutputStream jar = new JarOutputStream(bytes, m)) {
                for (JarEntry e : java.util.Collections.list(in.entries())) {
                    if (e.getName().equals("META-INF/MANIFEST.MF") || e.isDirectory()) {
                        continue;
                    }
                    jar.putNextEntry(new JarEntry(e.getName()));
                    try (InputStream is = in.getInputStream(e)) {
                        is.transferTo(jar);
                    }
                    jar.closeEntry();
                }
            }
            Files.write(out, bytes.toByteArray());
        }
        return out;
    }

    static int run(int changes, int updates) throws Exception {
        Path home = Path.of(System.getProperty("zgres.home", ".")).toAbsolutePath();
        Path jar = Path.of(System.getProperty("zgres.jar", "bndrun/target/zgres.jar")).toAbsolutePath();
        try (ConfigBench b = new ConfigBench(home, jar)) {
            b.awaitReady(180_000);
            List<Double> deadman = new ArrayList<>();
            List<Double> apply = new ArrayList<>();
            for (int i = 1; i <= changes; i++) {
                // the deadman's cluster settings: a new priority each time
                int from = b.logLines();
                long t0 = System.currentTimeMillis();
                b.put("all", "zgres.deadman.cluster", Map.of("priority", i));
                String needle = "priority=" + i;
                long t1 = b.awaitLogLine(from, l -> l.contains("configuration updated live (cluster settings")
                        && (l.contains(needle + ",") || l.contains(needle + "}")), 10_000);
                deadman.add((double) (t1 - t0));
                // the apply plugin: a new timeout each time
                from = b.logLines();
                t0 = System.currentTimeMillis();
                b.put("all", "zgres.plugin.apply~bench", Map.of("timeout_ms", 30_000 + i));
                t1 = b.awaitLogLine(from, l -> l.contains("zgres.plugin.apply~bench: configuration updated live"),
                        10_000);
                apply.add((double) (t1 - t0));
                Thread.sleep(50);
            }
            emit("config-to-modified", "deadman cluster settings", deadman);
            emit("config-to-modified", "apply plugin", apply);

            String lb = b.type("lb -s zgres.plugin.apply", "|zgres.plugin.apply", 20_000);
            Matcher id = Pattern.compile("^\\s*(\\d+)\\|").matcher(lb.replaceFirst("^.*?g! ", ""));
            if (!id.find()) {
                throw new IllegalStateException("cannot read the bundle id from: " + lb);
            }
            List<Double> bundle = new ArrayList<>();
            for (int i = 1; i <= updates; i++) {
                Path v = b.applyJarVersion("1.0." + (100 + i) + ".bench");
                int before = b.stampCount();
                long t0 = System.currentTimeMillis();
                b.console.write(("update " + id.group(1) + " file:" + v + "\n").getBytes(StandardCharsets.UTF_8));
                b.console.flush();
                long end = t0 + 20_000;
                while (b.stampCount() <= before) {
                    if (System.currentTimeMillis() > end) {
                        throw new IllegalStateException("the updated plugin never ran; see " + b.log);
                    }
                    Thread.sleep(1);
                }
                long t1 = Long.parseLong(Files.readAllLines(b.stamps).get(before).trim()) / 1_000_000;
                bundle.add((double) (t1 - t0));
                Thread.sleep(300);
            }
            emit("bundle-update-to-first-snapshot", "apply plugin", bundle);
            String after = b.type("lb -s zgres.plugin.apply", "|zgres.plugin.apply", 20_000);
            System.err.println("bench config: after the updates: " + after.strip());
        }
        return 0;
    }

    static void emit(String metric, String target, List<Double> ms) {
        ObjectNode o = Bench.JSON.createObjectNode();
        o.put("bench", "config");
        o.put("metric", metric);
        o.put("target", target);
        o.put("samples", ms.size());
        o.put("p50_ms", Bench.percentile(ms, 50));
        o.put("p99_ms", Bench.percentile(ms, 99));
        o.put("max_ms", ms.stream().mapToDouble(Double::doubleValue).max().orElse(0));
        o.put("min_ms", ms.stream().mapToDouble(Double::doubleValue).min().orElse(0));
        System.out.println(o);
    }

    @Override
    public void close() throws Exception {
        try {
            console.close(); // end of input: the console exits; stop the framework cleanly
        } catch (IOException e) {
            // already gone
        }
        runtime.destroy();
        if (!runtime.waitFor(60, TimeUnit.SECONDS)) {
            runtime.destroyForcibly();
        }
        client.close();
        zk.close();
        // the PostgreSQL of the node stops with its deadman; a leftover postmaster is killed
        Path pid = dir.resolve("n1/postmaster.pid");
        if (Files.exists(pid)) {
            long p = Long.parseLong(Files.readAllLines(pid).get(0).trim());
            ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly);
        }
    }
}
