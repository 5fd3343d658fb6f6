package zgres.process;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A long-running program zgres starts and owns (pgbouncer, HAProxy): in the foreground, its output appended to a
 * log file, optionally restarted when it exits, stopped by PID when closed. A daemon that reloads by replacing itself
 * (HAProxy's {@code -sf <old pid>}) is given a new command line with {@link #replace}: the old process finishes on
 * its own and is still stopped by {@link #close} if it lingers.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

    private final String name;
    private final Path log;
    private final boolean restartOnExit;
    private List<String> command;
    private Process process;
    private Process previous;
    private Thread watcher;
    private volatile boolean closed;

    /**
     * @param command the program and its arguments (see {@link Exec#asUser} to run it as another OS user)
     * @param restartOnExit start it again (after 1 s) whenever it exits
     */
    public Daemon(String name, List<String> command, Path log, boolean restartOnExit) {
        this.name = name;
        this.command = List.copyOf(command);
        this.log = log;
        this.restartOnExit = restartOnExit;
    }

    /** Starts a program in the foreground with its output appended to {@code log}. */
    public static Process spawn(List<String> command, Path log) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).directory(new java.io.File("/"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        p.getOutputStream().close();
        return p;
    }

    public synchronized boolean started() {
        return process != null;
    }

    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** @return the pid of the current process, or -1 */
    public synchronized long pid() {
        return process == null ? -1 : process.pid();
    }

    /** Starts the program (once). */
    public synchronized void start() throws IOException {
        if (process != null || closed) {
            return;
        }
        spawnCurrent();
        if (restartOnExit) {
            watcher = new Thread(this::watch, "zgres-" + name + "-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
    }

    /**
     * Starts {@code next.apply(old pid)} as the new process (old pid -1 when none runs): the way HAProxy reloads
     * seamlessly. The old process is left to finish.
     */
    public synchronized Process replace(Function<Long, List<String>> next) throws IOException {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
        Process old = process != null && process.isAlive() ? process : null;
        command = List.copyOf(next.apply(old == null ? -1L : old.pid()));
        if (previous != null && previous.isAlive() && previous != old) {
            stop(previous);
        }
        previous = old;
        spawnCurrent();
        return process;
    }

    /** Sends a signal (e.g. {@code HUP}) to the current process. */
    public void signal(String signal) throws IOException {
        long pid = pid();
        if (pid < 0) {
            throw new IOException(name + " is not running");
        }
        Signals.send(pid, signal);
    }

    private void spawnCurrent() throws IOException {
        process = spawn(command, log);
        LOG.info("started {} (pid {}): {}", name, process.pid(), String.join(" ", command));
    }

    private void watch() {
        while (!closed) {
            Process p;
            synchronized (this) {
                p = process;
            }
            try {
                int rc = p.waitFor();
                if (closed) {
                    return;
                }
                LOG.warn("{} exited with {} (see {}); restarting it in 1 s", name, rc, log);
                Thread.sleep(1000);
                synchronized (this) {
                    if (!closed && process == p) {
                        spawnCurrent();
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                LOG.warn("{}: could not restart it ({}); trying again in 5 s", name, e.toString());
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static void stop(Process p) {
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                Exec.kill(p);
            }
        } catch (InterruptedException e) {
            Exec.kill(p);
            Thread.currentThread().interrupt();
        }
    }

    /** Stops every process this daemon started (SIGTERM, SIGKILL after 10 s). */
    @Override
    public synchronized void close() {
        closed = true;
        if (watcher != null) {
            watcher.interrupt();
        }
        for (Process p : new Process[] {previous, process}) {
            if (p != null && p.isAlive()) {
                stop(p);
            }
        }
        if (process != null) {
            LOG.info("stopped {}", name);
        }
    }
}
