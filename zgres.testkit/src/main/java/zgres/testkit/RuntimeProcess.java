package zgres.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The exported runtime ({@code java -jar zgres.jar}, what {@code ./zgres node} runs) as a process of its own, with a
 * local configuration file (PID to properties) and, optionally, its Gogo console on a pipe: what an operator types,
 * {@link #console} writes, and the answer is read back from the process's log. Faults are real signals.
 */
public class RuntimeProcess implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final AtomicInteger MARKS = new AtomicInteger();

    private final String name;
    private final Path dir;
    private final Path jar;
    private final Map<String, Map<String, Object>> config;
    private final List<String> jvmOptions;
    private final boolean console;
    private final String user;
    private Process process;
    private OutputStream stdin;
    private int starts;

    /**
     * @param config the local configuration: PID (or {@code factory~name}) to properties
     * @param console keep the Gogo console on stdin (else the runtime runs as a daemon)
     */
    public RuntimeProcess(String name, Path dir, Path jar, Map<String, Map<String, Object>> config,
            List<String> jvmOptions, boolean console) {
        this(name, dir, jar, config, jvmOptions, console, OsUser.runtimeUser());
    }

    /**
     * @param user the OS user the runtime runs as ({@code dir} must be writable by it: the runtime keeps its
     *        framework storage there)
     */
    public RuntimeProcess(String name, Path dir, Path jar, Map<String, Map<String, Object>> config,
            List<String> jvmOptions, boolean console, String user) {
        this.user = user;
        this.name = name;
        this.dir = dir;
        this.jar = readableBy(jar, user);
        this.config = new LinkedHashMap<>();
        config.forEach((k, v) -> this.config.put(k, new LinkedHashMap<>(v)));
        this.jvmOptions = List.copyOf(jvmOptions);
        this.console = console;
    }

    public String name() {
        return name;
    }

    /** @return the OS user the runtime runs as */
    public String user() {
        return user;
    }

    public Path dir() {
        return dir;
    }

    public Path log() {
        return dir.resolve(name + ".zgres.log");
    }

    /** @return one PID's properties (changes apply at the next start) */
    public Map<String, Object> config(String pid) {
        return config.computeIfAbsent(pid, k -> new LinkedHashMap<>());
    }

    private static final Map<Path, Path> SHARED_JARS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @return {@code jar}, or a copy of it another user can read: a runtime started as {@code postgres} by a root JVM
     *         must not depend on the checkout's directories being open to others (a clone under {@code /root} or a
     *         {@code mktemp -d} directory is not)
     */
    static Path readableBy(Path jar, String user) {
        if (user.equals(OsUser.current())) {
            return jar;
        }
        return SHARED_JARS.computeIfAbsent(jar.toAbsolutePath(), src -> {
            try {
                Path dir = Files.createTempDirectory("zgres-runtime-");
                Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                Path copy = dir.resolve(src.getFileName());
                Files.copy(src, copy);
                Files.setPosixFilePermissions(copy, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
                copy.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
                return copy;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot copy " + src + " where " + user + " can read it", e);
            }
        });
    }

    /** @return the exported runtime's jar */
    public static Path jar() {
        return Path.of(System.getProperty("zgres.jar", "bndrun/target/zgres.jar")).toAbsolutePath();
    }

    public synchronized void start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " already runs");
        }
        Files.createDirectories(dir);
        // the configuration holds passwords: only the runtime's user reads it
        Path file = dir.resolve(name + ".json");
        Files.deleteIfExists(file);
        Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        JSON.writeValue(file.toFile(), config);
        OsUser.own(file, user);
        List<String> cmd = new ArrayList<>(OsUser.as(user));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-Dorg.osgi.framework.storage=" + dir.resolve(name + ".felix"));
        cmd.add("-Dzgres.config.file=" + file);
        if (!console) {
            cmd.add("-Dgosh.args=--nointeractive");
        }
        cmd.add("-Dorg.slf4j.simpleLogger.logFile=System.out");
        cmd.add("-jar");
        cmd.add(jar.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        Files.writeString(log(), "\n===== start " + (++starts) + " =====\n", StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        process = pb.start();
        stdin = process.getOutputStream();
        if (!console) {
            stdin.close();
        }
    }

    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /**
     * Types a line into the console and returns what it printed (up to a marker echoed after it).
     *
     * @throws IllegalStateException when the runtime has no console or does not answer within {@code timeoutMs}
     */
    public String console(String line, long timeoutMs) throws IOException, InterruptedException {
        if (!console) {
            throw new IllegalStateException(name + " runs without a console");
        }
        String mark = "zgres-mark-" + MARKS.incrementAndGet();
        long from = Files.size(log());
        synchronized (this) {
            stdin.write((line + "\necho " + mark + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (System.nanoTime() < deadline) {
            String out = tail(from);
            int end = out.indexOf(mark + "\n");
            if (end >= 0) {
                return out.substring(0, end).replace("echo " + mark, "");
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("'" + line + "' did not answer within " + timeoutMs + " ms; see " + log());
    }

    /** @return the log from {@code offset} bytes on */
    public String tail(long offset) throws IOException {
        byte[] all = Files.readAllBytes(log());
        return offset >= all.length ? "" : new String(all, (int) offset, all.length - (int) offset,
                StandardCharsets.UTF_8);
    }

    /** @return how many log lines contain {@code needle} */
    public long count(String needle) throws IOException {
        return Files.exists(log()) ? Files.readAllLines(log()).stream().filter(l -> l.contains(needle)).count() : 0;
    }

    /** SIGKILL of the runtime's JVM only. */
    public synchronized void killJvm() {
        if (process != null) {
            process.destroyForcibly();
            waitFor(10_000);
        }
    }

    /** SIGSTOP of the JVM (a long GC pause). */
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

    protected synchronized Process process() {
        return process;
    }

    protected boolean waitFor(long timeoutMs) {
        try {
            return process.waitFor(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Sends a signal with {@code kill} to the given pids. */
    public static void signal(String sig, List<Long> pids) {
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
                killJvm();
            }
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
