package zgres.deadman.pg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs an external command to completion with a timeout, keeping the tail of its output for error messages. */
public final class Exec {
    /** The outcome of a command. */
    public record Result(List<String> command, int exitCode, String output, boolean timedOut) {
        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }

        /** @return a one-line description for logs and exceptions */
        public String describe() {
            String tail = output.strip();
            if (tail.length() > 1200) {
                tail = "..." + tail.substring(tail.length() - 1200);
            }
            return String.join(" ", command) + (timedOut ? " timed out" : " exited with " + exitCode)
                    + (tail.isEmpty() ? "" : ": " + tail.replace('\n', ' '));
        }
    }

    private Exec() {}

    public static Result run(List<String> command, Map<String, String> env, Duration timeout) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        Deque<String> lines = new ArrayDeque<>();
        Thread reader = new Thread(() -> drain(p.getInputStream(), lines), "zgres-exec-output");
        reader.setDaemon(true);
        reader.start();
        boolean done;
        try {
            done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
            reader.join(2000);
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0));
        }
        String out;
        synchronized (lines) {
            out = String.join("\n", lines);
        }
        return new Result(command, done ? p.exitValue() : -1, out, !done);
    }

    private static void drain(InputStream in, Deque<String> lines) {
        try (in) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                synchronized (lines) {
                    lines.addLast(line);
                    while (lines.size() > 60) {
                        lines.removeFirst();
                    }
                }
            }
        } catch (IOException e) {
            // process gone
        }
    }
}
