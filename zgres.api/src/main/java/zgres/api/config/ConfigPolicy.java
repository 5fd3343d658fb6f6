package zgres.api.config;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What cluster configuration in ZooKeeper ({@code /config}) may set, and what only a runtime's local file may: one
 * rule, used by the bridge before it applies a znode and by {@code zgres:config set} before it writes one.
 *
 * <p>Local-only is everything that names a program, a file, a directory, an OS user or a binary, that changes who
 * may connect or how, that lets PostgreSQL run programs, a node's identity, and every secret: a writer of ZooKeeper
 * must not be able to make a machine run something. So are whole PIDs that say how to reach ZooKeeper itself, and
 * new factory instances (a plugin or a deadman comes into existence only from a local file; ZooKeeper may then tune
 * it). For the PIDs zgres ships, every key is classified here ({@link #KNOWN}); for others, a key is local-only when
 * its name says it names something local or holds a secret.
 */
public final class ConfigPolicy {
    private ConfigPolicy() {
    }

    /** PIDs ZooKeeper may not configure at all, with the reason. */
    static final Map<String, String> LOCAL_ONLY_PIDS = Map.of(
            "zgres.zookeeper", "it says how this runtime reaches and authenticates to ZooKeeper",
            "zgres.config", "it says what this runtime takes from ZooKeeper");

    private static final String PROGRAM = "it names a program";
    private static final String FILE = "it names a file or directory";
    private static final String USER = "it names an OS user";
    private static final String AUTH = "it changes who may connect or how";
    private static final String SECRET = "it is a secret (secrets stay in local files)";
    private static final String IDENTITY = "it is the node's identity";
    private static final String PG_PROGRAMS = "PostgreSQL settings can run programs (archive_command, "
            + "shared_preload_libraries, ...)";
    private static final String EXPOSURE = "it decides where this machine listens";
    private static final String STARTS = "it makes this runtime start a program";

    /**
     * The keys of the PIDs zgres ships: key to {@code null} when ZooKeeper may set it, else the reason it is
     * local-only. Factory PIDs are listed by their factory PID.
     */
    public static final Map<String, Map<String, String>> KNOWN = known();

    private static Map<String, Map<String, String>> known() {
        Map<String, Map<String, String>> k = new LinkedHashMap<>();
        k.put("zgres.deadman", keys(
                "group", IDENTITY, "host", IDENTITY, "port", IDENTITY, "dbname", IDENTITY, "data_dir", FILE,
                "pg_bin", PROGRAM, "pg_user", USER, "superuser", AUTH, "superuser_password", SECRET,
                "replication_user", AUTH, "replication_password", SECRET, "log_file", FILE,
                "pg_parameters", PG_PROGRAMS, "pg_hba", AUTH,
                "nofailover", null, "priority", null, "session_timeout_ms", null, "loop_wait_ms", null,
                "state_interval_ms", null, "lease_margin_ms", null, "maximum_lag_on_failover", null,
                "election_delay_ms", null, "election_timeout_ms", null, "crash_restart_timeout_ms", null,
                "follow_timeout_ms", null, "synchronous_mode", null, "synchronous_node_count", null,
                "rewind_failure", null, "history_limit", null, "http_address", EXPOSURE, "http_port", EXPOSURE,
                "replication_slots", null, "slot_drop_after_s", null, "max_slot_wal_keep_size_mb", null,
                "clone_methods", null, "wal_archive", PG_PROGRAMS, "failsafe", null));
        k.put("zgres.deadman.cluster", keys(
                "loop_wait_ms", null, "state_interval_ms", null, "maximum_lag_on_failover", null,
                "election_delay_ms", null, "election_timeout_ms", null, "crash_restart_timeout_ms", null,
                "follow_timeout_ms", null, "rewind_failure", null, "nofailover", null, "priority", null,
                "synchronous_mode", null, "synchronous_node_count", null, "history_limit", null,
                "replication_slots", null, "slot_drop_after_s", null, "max_slot_wal_keep_size_mb", null,
                "clone_methods", null, "failsafe", null));
        k.put("zgres.metadata.zone", keys("zone", null, "zone_file", FILE));
        k.put("zgres.metrics", keys("address", EXPOSURE, "port", EXPOSURE));
        k.put("zgres.sync", keys("debounce_ms", null, "resync_interval_s", null, "max_backoff_ms", null));
        k.put("zgres.plugin.apply", keys("path", FILE, "executables", PROGRAM, "timeout_ms", null));
        k.put("zgres.plugin.haproxy", keys(
                "work_dir", FILE, "haproxy_bin", PROGRAM, "manage", STARTS, "bind_address", EXPOSURE,
                "ports", EXPOSURE, "slots", null, "zone", null, "weight_by", null, "same_zone_weight", null,
                "other_zone_weight", null));
        k.put("zgres.plugin.pgbouncer", keys(
                "databases_file", FILE, "pid_file", FILE, "work_dir", FILE, "run_as", USER,
                "pgbouncer_bin", PROGRAM, "manage", STARTS, "auth_users", SECRET, "admin_user", AUTH,
                "listen_addr", EXPOSURE, "port", EXPOSURE, "extra_parameters", "pgbouncer settings can name files "
                        + "and change authentication",
                "groups", null, "readonly_suffix", null, "zone", null, "pool_mode", null));
        k.put("zgres.clone.basebackup", keys("max_rate_kbps", null, "timeout_minutes", null));
        k.put("zgres.clone.command", keys("command", PROGRAM, "args", PROGRAM, "timeout_minutes", null));
        k.put("zgres.clone.pgbackrest", keys(
                "pgbackrest_bin", PROGRAM, "repo_path", FILE, "stanza", "it chooses which backups and WAL a node "
                        + "restores", "retention_full", "it decides which backups are deleted",
                "backup_interval_s", null, "backup_type", null, "process_max", null, "compress_type", null,
                "archive_timeout_s", null));
        k.put("zgres.plugin.pghba", keys(
                "group", AUTH, "data_dir", FILE, "hba_file", FILE, "user", AUTH, "method", AUTH));
        return java.util.Collections.unmodifiableMap(k);
    }

    private static Map<String, String> keys(Object... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (String) kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * @param pid a PID or a factory configuration {@code factory~name}
     * @param definedLocally the local file defines this configuration
     * @return why ZooKeeper may not configure {@code pid} at all, or empty
     */
    public static Optional<String> localOnlyPid(String pid, boolean definedLocally) {
        int t = pid.indexOf('~');
        String base = t < 0 ? pid : pid.substring(0, t);
        if (LOCAL_ONLY_PIDS.containsKey(base)) {
            return Optional.of(pid + " is local-only: " + LOCAL_ONLY_PIDS.get(base));
        }
        if (t >= 0 && !definedLocally) {
            return Optional.of(pid + " is not in this runtime's local file: a new " + base + " instance (a plugin or "
                    + "a deadman, which start programs) comes only from a local file; ZooKeeper may then tune it");
        }
        return Optional.empty();
    }

    /**
     * @param pid a PID or a factory configuration {@code factory~name}
     * @return why ZooKeeper may not set {@code key} of {@code pid}, or empty
     */
    public static Optional<String> localOnlyKey(String pid, String key) {
        int t = pid.indexOf('~');
        String base = t < 0 ? pid : pid.substring(0, t);
        if (secret(key)) {
            return Optional.of(pid + ": " + key + " is local-only: " + SECRET);
        }
        Map<String, String> known = KNOWN.get(base);
        if (known != null) {
            if (!known.containsKey(key)) {
                return Optional.of(pid + ": " + key + " is not a key of " + base);
            }
            String why = known.get(key);
            return why == null ? Optional.empty() : Optional.of(pid + ": " + key + " is local-only: " + why);
        }
        String k = key.toLowerCase(Locale.ROOT);
        if (k.endsWith("_bin") || k.equals("executables") || k.endsWith("_command") || k.equals("command")) {
            return Optional.of(pid + ": " + key + " is local-only: " + PROGRAM);
        }
        if (k.equals("path") || k.endsWith("_path") || k.endsWith("_file") || k.endsWith("_dir")
                || k.endsWith("_directory")) {
            return Optional.of(pid + ": " + key + " is local-only: " + FILE);
        }
        if (k.equals("user") || k.equals("run_as") || k.endsWith("_user")) {
            return Optional.of(pid + ": " + key + " is local-only: " + USER);
        }
        return Optional.empty();
    }

    /** @return true when a key's name says it holds a secret */
    public static boolean secret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        for (String s : Set.of("password", "secret", "credential", "token", "private", "auth_users", "passphrase")) {
            if (k.contains(s)) {
                return true;
            }
        }
        return false;
    }
}
