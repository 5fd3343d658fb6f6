package zgres.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sync daemon in front of a group, as users run it: the exported runtime as a process of its own with the sync
 * daemon, a managed pgbouncer and a managed HAProxy (real ones), and whatever further plugins a test configures. Its
 * console answers {@code zgres:sync}.
 */
public final class Routing implements AutoCloseable {
    public static final String ADMIN_PASSWORD = "zgres-admin";
    private static final Pattern STATUS = Pattern.compile(
            "^(\\S+)\\s+snapshot #(-?\\d+) at \\S+, (\\d+) applied, (\\d+) failures", Pattern.MULTILINE);

    public final Path work;
    public final int pgbouncerPort;
    public final int rwPort;
    public final int roPort;
    private final RuntimeProcess daemon;
    private final String group;

    /** What {@code zgres:sync} says of one plugin. */
    public record PluginStatus(String name, long sequence, long applied, long failures) {}

    public Routing(Group g) throws Exception {
        this(g, Map.of(), Map.of());
    }

    /**
     * @param extraPorts further groups HAProxy routes (name to {rw, ro} ports)
     * @param extraPlugins further plugin configurations of the sync daemon (PID to properties)
     */
    public Routing(Group g, Map<String, int[]> extraPorts, Map<String, Map<String, Object>> extraPlugins)
            throws Exception {
        group = g.name();
        work = Files.createTempDirectory("zgres-routing-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        // an unprivileged user runs the sync daemon, and pgbouncer and HAProxy under it
        String user = OsUser.runtimeUser();
        OsUser.own(work, user);
        pgbouncerPort = Group.freePort();
        rwPort = Group.freePort();
        roPort = Group.freePort();
        Map<String, Map<String, Object>> cfg = new LinkedHashMap<>();
        // the sync daemon reads only: the sync identity
        cfg.put("zgres.zookeeper", g.zookeeperConfig(Identities.Role.SYNC, g.zookeeper().connectString(), user));
        // this runtime mirrors no cluster configuration: what it runs is what this harness says
        cfg.put("zgres.config", Map.of("enabled", false));
        cfg.put("zgres.sync", Map.of("debounce_ms", 20, "resync_interval_s", 0, "max_backoff_ms", 2000));
        Map<String, Object> pgb = new LinkedHashMap<>();
        pgb.put("manage", true);
        pgb.put("work_dir", work.resolve("pgbouncer").toString());
        pgb.put("databases_file", work.resolve("pgbouncer").resolve("databases.ini").toString());
        pgb.put("port", pgbouncerPort);
        pgb.put("admin_user", "zgres");
        pgb.put("auth_users", List.of("zgres:" + ADMIN_PASSWORD, Pg.USER + ":" + Pg.PASSWORD));
        cfg.put("zgres.plugin.pgbouncer~itest", pgb);
        List<String> ports = new java.util.ArrayList<>(List.of(group + "=" + rwPort + "," + roPort));
        extraPorts.forEach((name, p) -> ports.add(name + "=" + p[0] + "," + p[1]));
        cfg.put("zgres.plugin.haproxy~itest", Map.of("work_dir", work.resolve("haproxy").toString(), "ports", ports,
                "manage", true));
        cfg.putAll(extraPlugins);
        daemon = new RuntimeProcess("sync", work, RuntimeProcess.jar(), cfg, List.of("-Xms24m", "-Xmx160m",
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                "-Djava.util.logging.config.file=/dev/null"), true, user);
        daemon.start();
    }

    /** The sync daemon's process (its log, its console). */
    public RuntimeProcess daemon() {
        return daemon;
    }

    /** @return what {@code zgres:sync} says of each plugin, by name */
    public Map<String, PluginStatus> status() throws IOException, InterruptedException {
        return parse(daemon.console("zgres:sync", 20_000));
    }

    /** Hands the current snapshot to every plugin again ({@code zgres:sync --resync}). */
    public Map<String, PluginStatus> resync() throws IOException, InterruptedException {
        return parse(daemon.console("zgres:sync --resync", 20_000));
    }

    static Map<String, PluginStatus> parse(String out) {
        Map<String, PluginStatus> m = new LinkedHashMap<>();
        Matcher x = STATUS.matcher(out);
        while (x.find()) {
            m.put(x.group(1), new PluginStatus(x.group(1), Long.parseLong(x.group(2)), Long.parseLong(x.group(3)),
                    Long.parseLong(x.group(4))));
        }
        return m;
    }

    /** A new connection through pgbouncer to a database (the group, or the group's read-only database). */
    public Connection viaPgbouncer(String db) throws SQLException {
        return connect(pgbouncerPort, db);
    }

    public Connection viaHaproxy(boolean readWrite) throws SQLException {
        return connect(readWrite ? rwPort : roPort, "postgres");
    }

    public static Connection connect(int port, String db) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", Pg.USER);
        p.setProperty("password", Pg.PASSWORD);
        p.setProperty("connectTimeout", "2");
        p.setProperty("socketTimeout", "5");
        Connection c = new org.postgresql.Driver().connect("jdbc:postgresql://127.0.0.1:" + port + "/" + db, p);
        if (c == null) {
            throw new SQLException("no connection");
        }
        return c;
    }

    /** @return the PostgreSQL port a connection landed on */
    public static int serverPort(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT inet_server_port()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    public static boolean inRecovery(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** The port a new connection lands on, or -1 when it cannot connect. */
    public int landsOn(boolean pgbouncerRoute, boolean readWrite) {
        try (Connection c = pgbouncerRoute ? viaPgbouncer(readWrite ? group : group + "-ro")
                : viaHaproxy(readWrite)) {
            return serverPort(c);
        } catch (SQLException e) {
            return -1;
        }
    }

    /** @return the pid of the pgbouncer the sync daemon manages, when it runs */
    public Optional<Long> pgbouncerPid() {
        try {
            return Optional.of(Long.parseLong(Files.readString(work.resolve("pgbouncer/pgbouncer.pid")).trim()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public void close() {
        daemon.close();
    }
}
