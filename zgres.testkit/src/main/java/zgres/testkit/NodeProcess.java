package zgres.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * One zgres node as its own process: the exported runtime ({@code java -jar zgres.jar}, what {@code ./zgres node}
 * runs) with a Configurator file holding its ZooKeeper and deadman configuration. Faults are real signals.
 */
public final class NodeProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String name;
    private final Path dir;
    private final Path jar;
    private final Map<String, Object> zookeeper;
    private final Map<String, Object> deadman;
    private final List<String> jvmOptions;
    private Process process;
    private int starts;

    public NodeProcess(String name, Path dir, Path jar, Map<String, Object> zookeeper, Map<String, Object> deadman,
            List<String> jvmOptions) {
        this.name = name;
        this.dir = dir;
        this.jar = jar;
        this.zookeeper = new LinkedHashMap<>(zookeeper);
        this.deadman = new LinkedHashMap<>(deadman);
        this.jvmOptions = List.copyOf(jvmOptions);
    }

    public String name() {
        return name;
    }

    public int port() {
        return ((Number) deadman.get("port")).intValue();
    }

    public String host() {
        return (String) deadman.getOrDefault("host", "127.0.0.1");
    }

    public Path dataDir() {
        return Path.of((String) deadman.get("data_dir"));
    }

    public Path log() {
        return dir.resolve(name + ".zgres.log");
    }

    public Map<String, Object> deadmanConfig() {
        return deadman;
    }

    /** Changes a deadman property for the next start. */
    public void set(String key, Object value) {
        deadman.put(key, value);
    }

    public synchronized void start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " already runs");
        }
        Files.createDirectories(dir);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put(":configurator:resource-version", 1);
        cfg.put(":configurator:symbolic-name", "zgres.itest." + name);
        cfg.put(":configurator:version", "1.0." + starts);
        cfg.put("zgres.zookeeper", zookeeper);
        cfg.put("zgres.deadman~" + name, deadman);
        Path config = dir.resolve(name + ".json");
        JSON.writeValue(config.toFile(), cfg);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-Dorg.osgi.framework.storage=" + dir.resolve(name + ".felix"));
        cmd.add("-Dconfigurator.initial=file:" + config);
        cmd.add("-Dgosh.args=--nointeractive");
        cmd.add("-Dorg.slf4j.simpleLogger.logFile=System.out");
        cmd.add("-jar");
        cmd.add(jar.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        Files.writeString(log(), "\n===== start " + (++starts) + " =====\n", java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        process = pb.start();
        process.getOutputStream().close();
    }

    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** @return the postmaster's pid from postmaster.pid, when it runs */
    public Optional<Long> postmasterPid() {
        try {
            long pid = Long.parseLong(Files.readAllLines(dataDir().resolve("postmaster.pid")).get(0).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(ProcessHandle::pid);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** SIGKILL of the deadman JVM only. */
    public synchronized void killJvm() {
        if (process != null) {
            process.destroyForcibly();
            waitFor(10_000);
        }
    }

    /** SIGKILL of the whole node at once: the JVM, the supervisor, the postmaster and its backends. */
    public synchronized void killNode() {
        List<ProcessHandle> all = new ArrayList<>();
        if (process != null) {
            process.descendants().forEach(all::add);
            all.add(process.toHandle());
        }
        postmasterPid().flatMap(ProcessHandle::of).ifPresent(pm -> {
            pm.descendants().forEach(all::add);
            all.add(pm);
        });
        signal("KILL", all.stream().map(ProcessHandle::pid).toList());
        waitFor(10_000);
    }

    /** SIGKILL of the postmaster only (PostgreSQL crash, the deadman stays). */
    public void killPostmaster() {
        postmasterPid().ifPresent(pid -> signal("KILL", List.of(pid)));
    }

    /** SIGSTOP of the deadman JVM (a long GC pause). */
    public synchronized void freeze() {
        signal("STOP", List.of(pid()));
    }

    public synchronized void thaw() {
        signal("CONT", List.of(pid()));
    }

    /** SIGTERM of the JVM (a clean stop) and wait for it. */
    public synchronized boolean terminate(long timeoutMs) {
        if (process == null) {
            return true;
        }
        process.destroy();
        return waitFor(timeoutMs);
    }

    private boolean waitFor(long timeoutMs) {
        try {
            return process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static void signal(String sig, List<Long> pids) {
        if (pids.isEmpty()) {
            return;
        }
        List<String> cmd = new ArrayList<>(List.of("kill", "-" + sig));
        pids.forEach(p -> cmd.add(Long.toString(p)));
        try {
            new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                    .waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public synchronized void close() {
        if (process != null && process.isAlive()) {
            thaw();
            if (!terminate(30_000)) {
                killNode();
            }
        }
        // never leave a PostgreSQL behind
        postmasterPid().ifPresent(pid -> {
            ProcessHandle.of(pid).ifPresent(pm -> signal("KILL", pm.descendants().map(ProcessHandle::pid).toList()));
            signal("KILL", List.of(pid));
        });
    }

    @Override
    public String toString() {
        return name + "(" + host() + ":" + port() + ")";
    }
}
