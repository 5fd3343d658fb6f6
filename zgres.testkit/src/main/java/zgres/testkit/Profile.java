package zgres.testkit;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Timing settings of a node. {@link #DEFAULT} is what a deadman uses when nothing is configured; {@link #FAST} is
 * the documented aggressive profile.
 */
public record Profile(String name, int sessionTimeoutMs, int loopWaitMs, int stateIntervalMs, int electionDelayMs,
        int electionTimeoutMs, boolean failsafe) {
    public static final Profile DEFAULT = new Profile("default", 6000, 1000, 2000, 150, 3000, true);
    /**
     * The failsafe is off in the fast profile: a failover after a master's death waits δ (6 s) after the replicas last
     * heard from it, which a 1.5 s session would not otherwise wait.
     */
    public static final Profile FAST = new Profile("fast", 1500, 200, 250, 50, 1000, false);
    /** The acceptance tests' timings: a 3 s session keeps the suite short; the benchmarks measure the real profiles. */
    public static final Profile ACCEPTANCE = new Profile("test", 3000, 300, 300, 200, 1500, true);

    /** @return this profile with the failsafe on or off */
    public Profile withFailsafe(boolean on) {
        return new Profile(name, sessionTimeoutMs, loopWaitMs, stateIntervalMs, electionDelayMs, electionTimeoutMs, on);
    }

    public static Profile named(String n) {
        return switch (n) {
            case "default" -> DEFAULT;
            case "fast" -> FAST;
            default -> throw new IllegalArgumentException("unknown profile '" + n + "' (default, fast)");
        };
    }

    public Map<String, Object> deadmanSettings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("session_timeout_ms", sessionTimeoutMs);
        m.put("loop_wait_ms", loopWaitMs);
        m.put("state_interval_ms", stateIntervalMs);
        m.put("election_delay_ms", electionDelayMs);
        m.put("election_timeout_ms", electionTimeoutMs);
        if (!failsafe) {
            m.put("failsafe", false); // on is the default: left unset, the group's ZooKeeper settings may turn it off
        }
        return m;
    }
}
