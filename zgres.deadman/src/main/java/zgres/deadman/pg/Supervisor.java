package zgres.deadman.pg;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JVM side of the dead man's switch ({@code supervisor.pl}): a small Perl process, outside this JVM, that runs
 * the postmaster as its child and kills it with all its backends when this JVM stops renewing the lease.
 *
 * <p>Deadlines are absolute {@code CLOCK_MONOTONIC} times ({@link System#nanoTime()} on Linux), so a keepalive
 * that is delayed (a frozen JVM, a slow pipe) can never extend the lease beyond what a confirmed ZooKeeper round
 * trip justified. Closing this object closes the supervisor's stdin: it fences PostgreSQL at once.
 */
public final class Supervisor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);
    /** the JVM and Perl must read the same clock: refuse when they disagree by more than this */
    private static final long MAX_CLOCK_SKEW_NS = TimeUnit.SECONDS.toNanos(2);

    private final Process process;
    private final OutputStream stdin;
    private final String name;
    private final CompletableFuture<Long> started = new CompletableFuture<>();
    private final CompletableFuture<Integer> exited = new CompletableFuture<>();
    private volatile boolean armed;
    private volatile boolean fenced;
    private volatile String fenceReason = "";
    private volatile long lastDeadline;

    private Supervisor(String name, Process process, boolean armed, long deadline, Consumer<String> events) {
        this.name = name;
        this.process = process;
        this.stdin = process.getOutputStream();
        this.armed = armed;
        this.lastDeadline = deadline;
        Thread reader = new Thread(() -> readEvents(events), "zgres-supervisor-" + name);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Starts PostgreSQL under a new supervisor.
     *
     * @param script path of supervisor.pl
     * @param user OS user to run PostgreSQL as (used when this JVM is root)
     * @param log PostgreSQL's stdout/stderr
     * @param armedDeadline when present, the lease deadline from the start (a master); else unarmed (a standby)
     * @param postgres the postgres command line
     * @param events called with every event line (STARTED, FENCED, EXITED)
     */
    public static Supervisor start(String name, Path script, String user, Path log, OptionalLong armedDeadline,
            List<String> postgres, Consumer<String> events) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("perl", script.toString()));
        if (PgTools.isRoot()) {
            cmd.addAll(List.of("--user", user));
        }
        cmd.addAll(List.of("--log", log.toString()));
        if (armedDeadline.isPresent()) {
            cmd.addAll(List.of("--armed", Long.toString(armedDeadline.getAsLong())));
        }
        cmd.add("--");
        cmd.addAll(postgres);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT)
                .directory(new java.io.File("/"));
        pb.environment().put("LC_ALL", "C");
        Process p = pb.start();
        Supervisor s = new Supervisor(name, p, armedDeadline.isPresent(), armedDeadline.orElse(0), events);
        try {
            s.started.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            s.close();
            throw new IOException("supervisor for " + name + " did not start PostgreSQL: " + e, e);
        }
        return s;
    }

    private void readEvents(Consumer<String> events) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("READY ")) {
                    long theirs = Long.parseLong(line.split(" ")[2]);
                    long skew = Math.abs(System.nanoTime() - theirs);
                    if (skew > MAX_CLOCK_SKEW_NS) {
                        LOG.error("[{}] supervisor clock differs from System.nanoTime() by {} ms: refusing to use "
                                + "it (deadlines would be meaningless)", name, skew / 1_000_000);
                        process.destroyForcibly();
                    }
                    continue;
                }
                if (line.startsWith("STARTED ")) {
                    started.complete(Long.parseLong(line.substring(8).trim()));
                } else if (line.startsWith("FENCED")) {
                    fenced = true;
                    fenceReason = line.length() > 7 ? line.substring(7) : "";
                    LOG.warn("[{}] dead man's switch: PostgreSQL and all its backends were killed ({})", name,
                            fenceReason);
                } else if (line.startsWith("EXITED")) {
                    exited.complete(parseStatus(line));
                }
                events.accept(line);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("[{}] supervisor events ended: {}", name, e.toString());
        } finally {
            started.completeExceptionally(new IOException("supervisor exited"));
            try {
                int rc = process.waitFor();
                exited.complete(rc == 0 ? -1 : rc);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int parseStatus(String line) {
        try {
            return Integer.parseInt(line.substring(7).trim());
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** @return the postmaster's pid */
    public long postmasterPid() {
        return started.getNow(-1L);
    }

    public boolean isArmed() {
        return armed;
    }

    public boolean isFenced() {
        return fenced;
    }

    public String fenceReason() {
        return fenceReason;
    }

    /** @return true while the postmaster has not exited */
    public boolean running() {
        return !exited.isDone();
    }

    public CompletableFuture<Integer> exited() {
        return exited;
    }

    public long lastDeadline() {
        return lastDeadline;
    }

    /**
     * Arms the switch or moves its deadline: PostgreSQL is killed at {@code deadlineNanos} ({@link System#nanoTime()})
     * unless a later deadline arrives first. A deadline already in the past fences at once.
     */
    public synchronized void keepalive(long deadlineNanos) {
        if (extended && deadlineNanos - lastDeadline < 0 && System.nanoTime() - lastDeadline < 0) {
            // a renewal that went out before the failsafe's running extension (confirmed late, after an outage):
            // the extension ends later and stands; a renewal's own deadline never shortens it
            return;
        }
        extended = false;
        arm(deadlineNanos);
    }

    private void arm(long deadlineNanos) {
        armed = true;
        lastDeadline = deadlineNanos;
        send("K " + deadlineNanos);
    }

    /** the switch's deadline was last moved by {@link #extendTo} */
    private boolean extended;

    /**
     * Moves an armed switch's deadline later, never earlier (the failsafe's extensions, which may cross a renewal's).
     *
     * @return false when nothing was sent (not armed, or the deadline is not later)
     */
    public synchronized boolean extendTo(long deadlineNanos) {
        if (!armed || deadlineNanos <= lastDeadline) {
            return false;
        }
        arm(deadlineNanos);
        extended = true;
        return true;
    }

    /** Asks PostgreSQL to stop: {@code INT} fast, {@code TERM} smart, {@code QUIT} immediate. */
    public synchronized void stop(String signal) {
        send("S " + signal);
    }

    /** Kills PostgreSQL and all its backends now. */
    public synchronized void fence(String reason) {
        send("F " + reason.replace('\n', ' '));
    }

    /** Waits for the postmaster to exit. */
    public boolean awaitExit(long timeoutMs) {
        try {
            exited.get(timeoutMs, TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return exited.isDone();
        }
    }

    private void send(String line) {
        try {
            stdin.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            stdin.flush();
        } catch (IOException e) {
            LOG.debug("[{}] supervisor gone, could not send '{}'", name, line);
        }
    }

    /** Closes stdin: the supervisor fences PostgreSQL if it still runs, then exits. */
    @Override
    public void close() {
        try {
            stdin.close();
        } catch (IOException ignored) {
            // already closed
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
