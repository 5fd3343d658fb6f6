package zgres.plugin.pgbouncer;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs a daemon in the foreground as a given OS user, restarts it when it exits, stops it on close. */
final class ManagedProcess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedProcess.class);

    private final String name;
    private final List<String> command;
    private final File log;
    private Process process;
    private Thread watcher;
    private volatile boolean closed;

    ManagedProcess(String name, String runAs, List<String> command, File log) {
        this.name = name;
        List<String> c = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name")) && !runAs.isEmpty() && !"root".equals(runAs)) {
            c.addAll(List.of("runuser", "-u", runAs, "--"));
        }
        c.addAll(command);
        this.command = List.copyOf(c);
        this.log = log;
    }

    synchronized boolean started() {
        return process != null;
    }

    /** Starts the process (once) and keeps it running. */
    synchronized void start() throws IOException {
        if (process != null || closed) {
            return;
        }
        spawn();
        watcher = new Thread(this::watch, "zgres-" + name + "-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private void spawn() throws IOException {
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
        process.getOutputStream().close();
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
                LOG.error("{} exited with {} (see {}); restarting in 1 s", name, rc, log);
                Thread.sleep(1000);
                synchronized (this) {
                    if (!closed) {
                        spawn();
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                LOG.error("could not restart {}: {}", name, e.toString());
                try {
                    Thread.sleep(5000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (watcher != null) {
            watcher.interrupt();
        }
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            LOG.info("stopped {}", name);
        }
    }
}
