package zgres.process;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Signals to processes by PID (Java has no SIGHUP of its own: {@code kill} does it). Only processes zgres started
 * or whose pid file it owns are signalled; nothing is looked up by name.
 */
public final class Signals {
    private Signals() {}

    /** Sends {@code signal} (e.g. {@code HUP}) to {@code pid}. */
    public static void send(long pid, String signal) throws IOException {
        if (!signal.matches("[A-Z0-9]+")) {
            throw new IllegalArgumentException("invalid signal name '" + signal + "'");
        }
        Exec.require(List.of("kill", "-" + signal, Long.toString(pid)), Map.of(), Duration.ofSeconds(5));
    }

    /** Sends SIGHUP (reload) to the process whose pid is the first line of {@code pidFile}. */
    public static void reload(Path pidFile) throws IOException {
        long pid = pidOf(pidFile).orElseThrow(() -> new IOException("no running process in " + pidFile));
        send(pid, "HUP");
    }

    /** @return the pid in the first line of {@code pidFile} when that process is alive */
    public static Optional<Long> pidOf(Path pidFile) {
        try {
            long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(ProcessHandle::pid);
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
