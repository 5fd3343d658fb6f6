package zgres.bench;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.testkit.Group;
import zgres.testkit.Profile;

/**
 * Benchmarks ({@code ./zgres bench ...}): real processes, real PostgreSQL and ZooKeeper, one JSON line per episode.
 *
 * <pre>
 *   failover --fault node-kill|pg-kill|deadman-kill|deadman-stop|freeze|zk-partition|switchover|zk-outage|
 *            zk-leader-kill [--runs 5] [--profile fast] [--sync off|on|strict] [--zk-security open|auth|tls]
 *            [--failsafe on|off] [--outage-s 8]            (FailoverBench)
 *   routing [--runs 20] [--warmup 1]
 *   stability [--minutes 10] [--profile fast]                 (StabilityBench)
 *   config [--changes 100] [--updates 20]
 *   scale [--groups 100,300,1000] [--minutes 3] [--handover-ms 1000] [--failover-s 60] [--lsn-moving]
 * </pre>
 */
public final class Bench {
    static final ObjectMapper JSON = new ObjectMapper();
    /** how the benchmark groups reach ZooKeeper (--zk-security open|auth|tls; auth, as in production, by default) */
    static Group.Security security = Group.Security.AUTH;

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
        }
        Map<String, String> opts = options(Arrays.copyOfRange(args, 1, args.length));
        Profile profile = Profile.named(opts.getOrDefault("profile", "default"));
        security = switch (opts.getOrDefault("zk-security", "auth")) {
            case "open" -> Group.Security.OPEN;
            case "auth" -> Group.Security.AUTH;
            case "tls" -> Group.Security.AUTH_TLS;
            default -> throw new IllegalArgumentException("--zk-security: open, auth or tls");
        };
        int code = switch (args[0]) {
            case "failover" -> {
                FailoverBench.outageS = Double.parseDouble(opts.getOrDefault("outage-s", "8"));
                String failsafe = opts.getOrDefault("failsafe", profile.failsafe() ? "on" : "off");
                if (!List.of("on", "off").contains(failsafe)) {
                    throw new IllegalArgumentException("--failsafe on|off");
                }
                FailoverBench.failsafe = failsafe;
                profile = profile.withFailsafe(failsafe.equals("on"));
                yield FailoverBench.failover(opts.getOrDefault("fault", "node-kill"),
                        Integer.parseInt(opts.getOrDefault("runs", "5")), profile,
                        Integer.parseInt(opts.getOrDefault("zk-servers", "3")), opts.getOrDefault("sync", "off"));
            }
            case "routing" -> RoutingBench.run(Integer.parseInt(opts.getOrDefault("runs", "20")),
                    Integer.parseInt(opts.getOrDefault("warmup", "1")), Profile.named(opts.getOrDefault("profile",
                            "fast")));
            case "stability" -> StabilityBench.run(Double.parseDouble(opts.getOrDefault("minutes", "10")), profile,
                    Integer.parseInt(opts.getOrDefault("zk-servers", "3")));
            case "scale" -> opts.containsKey("snapshot-cost") ? SnapshotCost.run(java.util.Arrays.stream(opts
                    .getOrDefault("groups", "100,300,1000,3000").split(",")).map(String::trim).map(Integer::parseInt)
                    .toList()) : ScaleBench.run(java.util.Arrays.stream(opts.getOrDefault("groups", "100").split(","))
                    .map(String::trim).map(Integer::parseInt).toList(), Double.parseDouble(opts.getOrDefault("minutes",
                            "3")), profile, Long.parseLong(opts.getOrDefault("handover-ms", "1000")), Long.parseLong(opts
                                    .getOrDefault("failover-s", "60")), Boolean.parseBoolean(opts.getOrDefault(
                                            "lsn-moving", "false")));
            case "clone" -> CloneBench.run(Integer.parseInt(opts.getOrDefault("size-mb", "1024")),
                    Integer.parseInt(opts.getOrDefault("runs", "3")), Boolean.parseBoolean(opts.getOrDefault(
                            "drop-caches", Boolean.toString(zgres.testkit.OsUser.current().equals("root")))));
            case "ctl" -> CtlBench.run(Integer.parseInt(opts.getOrDefault("runs", "10")));
            case "startup" -> StartupBench.run(Integer.parseInt(opts.getOrDefault("runs", "5")));
            case "config" -> ConfigBench.run(Integer.parseInt(opts.getOrDefault("changes", "100")),
                    Integer.parseInt(opts.getOrDefault("updates", "20")));
            default -> {
                usage();
                yield 2;
            }
        };
        System.exit(code);
    }

    static void usage() {
        System.err.println("usage: ./zgres bench failover --fault node-kill|pg-kill|deadman-kill|deadman-stop|freeze|"
                + "zk-partition|switchover|zk-outage|zk-leader-kill [--runs N] [--profile default|fast] [--sync "
                + "off|on|strict] [--zk-security open|auth|tls] [--failsafe on|off] [--outage-s 8]\n"
                + "       ./zgres bench routing [--runs 20] [--warmup 1] [--profile fast]\n"
                + "       ./zgres bench stability [--minutes N] [--profile default|fast]\n"
                + "       ./zgres bench config [--changes 100] [--updates 20]\n"
                + "       ./zgres bench scale [--groups 100,300,1000] [--minutes 3] [--handover-ms 1000] "
                + "[--failover-s 60] [--lsn-moving] [--profile default|fast]\n"
                + "       ./zgres bench scale --snapshot-cost [--groups 100,300,1000,3000]\n"
                + "       ./zgres bench clone [--size-mb 1024] [--runs 3] [--drop-caches true|false]\n"
                + "       ./zgres bench ctl [--runs 10]\n"
                + "       ./zgres bench startup [--runs 5]");
        System.exit(2);
    }

    static Map<String, String> options(String[] a) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < a.length; i++) {
            if (!a[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a[i] + "'");
            }
            String k = a[i].substring(2);
            if (i + 1 < a.length && !a[i + 1].startsWith("--")) {
                m.put(k, a[++i]);
            } else {
                m.put(k, "true");
            }
        }
        return m;
    }

    static ObjectNode settings(Profile p, int zkServers) {
        return settings(p, zkServers, "off");
    }

    static ObjectNode settings(Profile p, int zkServers, String sync) {
        ObjectNode s = JSON.createObjectNode();
        s.put("profile", p.name());
        s.put("synchronous_mode", sync);
        s.put("failsafe", FailoverBench.failsafe);
        s.put("outage_s", FailoverBench.outageS);
        s.put("session_timeout_ms", p.sessionTimeoutMs());
        s.put("loop_wait_ms", p.loopWaitMs());
        s.put("election_delay_ms", p.electionDelayMs());
        s.put("zookeeper_servers", zkServers);
        s.put("zookeeper_security", security.name().toLowerCase(java.util.Locale.ROOT));
        s.put("nodes", 3);
        return s;
    }

    /**
     * Time from the lock change to the first new connection through pgbouncer and through HAProxy that lands on the
     * new master (real failovers: the master node is killed).
     */
    static double percentile(List<Double> xs, double p) {
        List<Double> s = xs.stream().sorted().toList();
        if (s.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * s.size()) - 1;
        return s.get(Math.max(0, Math.min(s.size() - 1, i)));
    }

    static double median(List<Double> xs) {
        List<Double> s = xs.stream().filter(x -> !Double.isNaN(x)).sorted().toList();
        if (s.isEmpty()) {
            return Double.NaN;
        }
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** Rounds to ms; NaN (not measured) becomes null in the JSON. */
    static Double round(double x) {
        return Double.isNaN(x) ? null : Math.round(x * 1000) / 1000.0;
    }

    static String fmt(double x) {
        return String.format(Locale.ROOT, "%.3f", x);
    }

    static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
