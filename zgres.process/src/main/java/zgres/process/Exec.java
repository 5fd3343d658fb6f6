package zgres.process;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external program to completion with a timeout. Its output (stdout and stderr together) is read while it
 * runs, so a program that writes more than a pipe holds never blocks; the last lines are kept for messages. A program
 * that times out, or whose caller is interrupted, is killed with everything it started.
 */
public final class Exec {
    /** Lines of output kept for messages. */
    static final int TAIL_LINES = 60;

    /** The outcome of a program. */
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

    /** Runs {@code command} (no shell) with extra environment variables; never throws for a non-zero exit. */
    public static Result run(List<String> command, Map<String, String> env, Duration timeout) throws IOException {
        // in "/": a program never depends on (or fails for) the JVM's working directory, which another user may not
        // be allowed to enter (HAProxy refuses to start when it cannot return to its initial directory)
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(new java.io.File("/"));
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
                kill(p);
                p.waitFor(5, TimeUnit.SECONDS);
            }
            reader.join(2000);
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.get(0));
        }
        String out;
        synchronized (lines) {
            out = String.join("\n", lines);
        }
        return new Result(List.copyOf(command), done ? p.exitValue() : -1, out, !done);
    }

    /** Runs {@code command} and throws with its output when it fails. */
    public static Result require(List<String> command, Map<String, String> env, Duration timeout) throws IOException {
        Result r = run(command, env, timeout);
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        return r;
    }

    /** @return {@code command} run as {@code user} through runuser when this JVM is root and the user is another */
    public static List<String> asUser(String user, List<String> command) {
        if (!isRoot() || user == null || user.isEmpty() || "root".equals(user)) {
            return List.copyOf(command);
        }
        List<String> c = new ArrayList<>(List.of("runuser", "-u", user, "--"));
        c.addAll(command);
        return c;
    }

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    private static void drain(InputStream in, Deque<String> lines) {
        try (in) {
            StringBuilder line = new StringBuilder();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) >= 0) {
                String s = new String(buf, 0, n, StandardCharsets.UTF_8);
                for (int i = 0; i < s.length(); i++) {
                    char c = s.charAt(i);
                    if (c == '\n') {
                        keep(lines, line.toString());
                        line.setLength(0);
                    } else if (line.length() < 4096) {
                        line.append(c);
                    }
                }
            }
            if (line.length() > 0) {
                keep(lines, line.toString());
            }
        } catch (IOException e) {
            // the program is gone
        }
    }

    private static void keep(Deque<String> lines, String line) {
        synchronized (lines) {
            lines.addLast(line);
            while (lines.size() > TAIL_LINES) {
                lines.removeFirst();
            }
        }
    }
}
