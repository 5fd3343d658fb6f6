package zgres.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One zgres node as its own process: the exported runtime with a local configuration holding its ZooKeeper and
 * deadman configuration. Faults are real signals: the JVM, the whole node (JVM, supervisor, postmaster and
 * backends), the postmaster alone.
 */
public final class NodeProcess extends RuntimeProcess {

    public NodeProcess(String name, Path dir, Path jar, Map<String, Object> zookeeper, Map<String, Object> deadman,
            List<String> jvmOptions) {
        super(name, dir, jar, config(name, zookeeper, deadman), jvmOptions, false);
    }

    private static Map<String, Map<String, Object>> config(String name, Map<String, Object> zookeeper,
            Map<String, Object> deadman) {
        Map<String, Map<String, Object>> c = new LinkedHashMap<>();
        c.put("zgres.zookeeper", zookeeper);
        c.put("zgres.deadman~" + name, deadman);
        return c;
    }

    private Map<String, Object> deadman() {
        return config("zgres.deadman~" + name());
    }

    public int port() {
        return ((Number) deadman().get("port")).intValue();
    }

    public String host() {
        return (String) deadman().getOrDefault("host", "127.0.0.1");
    }

    public Path dataDir() {
        return Path.of((String) deadman().get("data_dir"));
    }

    public Map<String, Object> deadmanConfig() {
        return deadman();
    }

    /** Changes a deadman property for the next start. */
    public void set(String key, Object value) {
        deadman().put(key, value);
    }

    /** @return the postmaster's pid from postmaster.pid, when it runs */
    public Optional<Long> postmasterPid() {
        try {
            long pid = Long.parseLong(Files.readAllLines(dataDir().resolve("postmaster.pid")).get(0).trim());
            return ProcessHandle.of(pid).filter(NodeProcess::running).map(ProcessHandle::pid);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * @return true while {@code p} runs: alive and not a zombie (a postmaster whose parent died is re-parented to an
     *         init that may never reap it; a zombie holds no port and runs nothing)
     */
    public static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + p.pid() + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** SIGKILL of the whole node at once: the JVM, the supervisor, the postmaster and its backends. */
    public synchronized void killNode() {
        List<ProcessHandle> all = new ArrayList<>();
        Process p = process();
        if (p != null) {
            p.descendants().forEach(all::add);
            all.add(p.toHandle());
        }
        postmasterPid().flatMap(ProcessHandle::of).ifPresent(pm -> {
            pm.descendants().forEach(all::add);
            all.add(pm);
        });
        signal("KILL", all.stream().map(ProcessHandle::pid).toList());
        waitFor(10_000);
    }

    /**
     * SIGSTOP of the whole node at once, as a paused virtual machine: the JVM, the supervisor, the postmaster and its
     * backends.
     *
     * @return what {@link #thawHost} resumes
     */
    public synchronized List<Long> freezeHost() {
        List<Long> all = new ArrayList<>();
        Process p = process();
        if (p != null) {
            p.descendants().forEach(h -> all.add(h.pid()));
            all.add(p.pid());
        }
        postmasterPid().flatMap(ProcessHandle::of).ifPresent(pm -> {
            pm.descendants().forEach(h -> all.add(h.pid()));
            all.add(pm.pid());
        });
        List<Long> distinct = all.stream().distinct().toList();
        signal("STOP", distinct);
        return distinct;
    }

    /**
     * Resumes what {@link #freezeHost} stopped: the supervisor first (its deadline passed, it kills PostgreSQL), the
     * rest 300 ms later. A paused virtual machine resumes everything at once, and its supervisor then takes up to its
     * 50 ms polling to act: no lease's margin covers a pause.
     */
    public void thawHost(List<Long> frozen) throws InterruptedException {
        List<Long> supervisor = frozen.stream().filter(pid -> ProcessHandle.of(pid).flatMap(h -> h.info().command())
                .orElse("").contains("perl")).toList();
        signal("CONT", supervisor);
        Thread.sleep(300);
        signal("CONT", frozen.stream().filter(pid -> !supervisor.contains(pid)).toList());
    }

    /**
     * SIGKILL of the dead man's switch only (the supervisor: the postmaster's parent), as the OOM killer would.
     *
     * @return the supervisor's pid, when PostgreSQL ran under one
     */
    public Optional<Long> killSupervisor() {
        Optional<Long> supervisor = postmasterPid().flatMap(ProcessHandle::of).flatMap(ProcessHandle::parent)
                .filter(pp -> pp.info().command().orElse("").contains("perl")).map(ProcessHandle::pid);
        supervisor.ifPresent(pid -> signal("KILL", List.of(pid)));
        return supervisor;
    }

    /** SIGKILL of the postmaster only (PostgreSQL crash, the deadman stays). */
    public void killPostmaster() {
        postmasterPid().ifPresent(pid -> signal("KILL", List.of(pid)));
    }

    @Override
    public synchronized void close() {
        if (alive()) {
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
        return name() + "(" + host() + ":" + port() + ")";
    }
}
