package zgres.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.Group;
import zgres.testkit.Profile;
import zgres.testkit.Workload;

/**
 * {@code ./zgres bench ctl}: how long {@code ./zgres ctl list} and {@code ./zgres ctl switchover} take end to end (a
 * new process each, as a script runs them), with the plain client and with the one-runtime-per-command client it
 * replaced, on an idle group and on a busy one (the writer and the writability probe running).
 */
final class CtlBench {
    private CtlBench() {
    }

    interface Ctl {
        Group.CtlResult run(Group g, String... words) throws Exception;
    }

    static int run(int runs) throws Exception {
        Map<String, Ctl> clients = new java.util.LinkedHashMap<>();
        clients.put("plain", CtlBench::script);
        clients.put("runtime", (g, w) -> g.runtimeCtl(w));
        try (Group g = new Group("ctl", 3, Profile.named("default"), 1, Map.of())) {
            g.start();
            g.awaitHealthy(3, 180_000);
            // warm up: the plain client's first run after a build writes its class-data archive
            script(g, "list");
            try (zgres.testkit.RuntimeProcess console = console(g)) {
                for (String load : List.of("idle", "busy")) {
                    Workload w = null;
                    if (load.equals("busy")) {
                        w = new Workload(g.nodes());
                        w.start();
                    }
                    try {
                        for (Map.Entry<String, Ctl> c : clients.entrySet()) {
                            measure(g, c.getKey(), c.getValue(), load, runs, "list");
                            measure(g, c.getKey(), c.getValue(), load, runs, "switchover");
                        }
                        measure(g, "console", (gr, words) -> {
                            String out = console.console("zgres:" + String.join(" ", words), 60_000);
                            return new Group.CtlResult(out.contains("Exception") ? 1 : 0, out);
                        }, load, runs, "list");
                    } finally {
                        if (w != null) {
                            w.close();
                        }
                    }
                }
            }
        }
        return 0;
    }

    /**
     * A runtime with its console, as an operator keeps one open: its own {@code zgres:list} is the time of the
     * command alone (no JVM, no connection; the console is polled every 20 ms).
     */
    static zgres.testkit.RuntimeProcess console(Group g) throws Exception {
        String user = zgres.testkit.OsUser.runtimeUser();
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("zgres-console-");
        zgres.testkit.OsUser.own(dir, user);
        Map<String, Object> zk = new java.util.LinkedHashMap<>(g.zookeeperConfig(zgres.testkit.Identities.Role.OPERATOR,
                g.zookeeper().connectString(), user));
        zk.put("root", "/zgres");
        zgres.testkit.RuntimeProcess r = new zgres.testkit.RuntimeProcess("console", dir,
                zgres.testkit.RuntimeProcess.jar(), Map.of("zgres.zookeeper", zk, "zgres.config", Map.of("enabled",
                        false)), List.of("-Xmx128m"), true, user);
        r.start();
        long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < until) {
            try {
                if (r.console("zgres:list", 5000).contains("Group")) {
                    return r;
                }
            } catch (IllegalStateException e) {
                // not up yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the console runtime did not list the group; see " + r.log());
    }

    /** {@code ./zgres ctl --zk ... --credentials ... WORDS}: the script users run (its class-data archive included). */
    static Group.CtlResult script(Group g, String... words) throws Exception {
        Map<String, Object> zk = g.zookeeperConfig(zgres.testkit.Identities.Role.OPERATOR, g.zookeeper().connectString(),
                zgres.testkit.OsUser.current());
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("zgres.home", ".") + "/zgres", "ctl", "--zk",
                g.zookeeper().connectString(), "--credentials", String.valueOf(zk.getOrDefault("credentials_file",
                        "none")), "--acl", String.valueOf(zk.getOrDefault("acl_file", ""))));
        cmd.addAll(List.of(words));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return new Group.CtlResult(p.exitValue(), out);
    }

    private static void measure(Group g, String client, Ctl ctl, String load, int runs, String command)
            throws Exception {
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            if (command.equals("switchover")) {
                g.awaitHealthy(3, 180_000);
                Thread.sleep(1000);
            }
            String[] words = command.equals("switchover") ? new String[] {"switchover", "--wait", "60", "ctl"}
                    : new String[] {"list"};
            long t0 = System.nanoTime();
            Group.CtlResult r = ctl.run(g, words);
            double s = (System.nanoTime() - t0) / 1e9;
            if (r.exitCode() != 0) {
                throw new IllegalStateException(client + " ctl " + String.join(" ", words) + " failed: " + r.out());
            }
            times.add(s);
            ObjectNode o = Bench.JSON.createObjectNode();
            o.put("bench", "ctl");
            o.put("client", client);
            o.put("command", command);
            o.put("load", load);
            o.put("run", i + 1);
            o.put("seconds", Bench.round(s));
            System.out.println(o);
        }
        ObjectNode o = Bench.JSON.createObjectNode();
        o.put("bench", "ctl");
        o.put("summary", true);
        o.put("client", client);
        o.put("command", command);
        o.put("load", load);
        o.put("runs", runs);
        o.put("median_s", Bench.round(Bench.percentile(times, 50)));
        o.put("max_s", Bench.round(times.stream().mapToDouble(Double::doubleValue).max().orElse(0)));
        System.out.println(o);
    }
}
