package zgres.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import zgres.testkit.OsUser;

/** What a process of the benchmark costs, from outside it: CPU and RSS from {@code /proc}, the heap from {@code jcmd}. */
final class ProcessStats {
    private ProcessStats() {
    }

    /** @return user + system CPU of a process, in clock ticks */
    static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    static double rssMb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        return Double.NaN;
    }

    /** @return the Java heap in use after a full GC ({@code jcmd} as the process's user), MB */
    static double heapMb(long pid, String user) throws IOException, InterruptedException {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        run(user, jcmd, Long.toString(pid), "GC.run");
        String info = run(user, jcmd, Long.toString(pid), "GC.heap_info");
        long kb = 0;
        Matcher x = Pattern.compile("^\\s*(def new generation|tenured generation|garbage-first heap|PSYoungGen|"
                + "ParOldGen)\\s+total \\d+K, used (\\d+)K", Pattern.MULTILINE).matcher(info);
        while (x.find()) {
            kb += Long.parseLong(x.group(2));
        }
        return kb == 0 ? Double.NaN : kb / 1024.0;
    }

    /** Keeps the heap's class histogram in the benchmark logs (zgres.logs): what the memory is made of. */
    static void histogram(long pid, String user, String name) {
        try {
            String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            String h = run(user, jcmd, Long.toString(pid), "GC.class_histogram");
            Path dir = Path.of(System.getProperty("zgres.logs", System.getProperty("java.io.tmpdir")));
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name + "-histogram.txt"), h);
        } catch (IOException | InterruptedException e) {
            System.err.println("scale: no histogram of " + name + ": " + e);
        }
    }

    private static String run(String user, String... cmd) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(OsUser.as(user));
        c.addAll(List.of(cmd));
        Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
        String s = new String(p.getInputStream().readAllBytes());
        p.waitFor(30, TimeUnit.SECONDS);
        return s;
    }
}
