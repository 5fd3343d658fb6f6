package zgres.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import zgres.testkit.Pg;
import zgres.plugin.haproxy.HaproxySync;
import zgres.plugin.pgbouncer.ManagedPgbouncer;
import zgres.plugin.pgbouncer.PgbouncerSync;
import zgres.sync.SyncEngine;
import zgres.zookeeper.ClusterReader;

/**
 * A sync daemon in this JVM (the same engine and plugins the runtime runs) in front of a group: a real pgbouncer and
 * a real HAProxy, both managed by their plugins.
 */
public final class Routing implements AutoCloseable {
    public static final String ADMIN_PASSWORD = "zgres-admin";
    public final Path work;
    public final int pgbouncerPort;
    public final int rwPort;
    public final int roPort;
    public final ManagedPgbouncer pgbouncerProcess;
    public final PgbouncerSync pgbouncer;
    public final HaproxySync haproxy;
    public final SyncEngine engine;
    private final ClusterReader reader;
    private final String group;

    public Routing(Group g) throws Exception {
        group = g.name();
        work = Files.createTempDirectory("zgres-routing-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        pgbouncerPort = Group.freePort();
        rwPort = Group.freePort();
        roPort = Group.freePort();
        Path db = work.resolve("pgbouncer").resolve("databases.ini");
        pgbouncerProcess = new ManagedPgbouncer("itest", work.resolve("pgbouncer"), db, "127.0.0.1", pgbouncerPort,
                "zgres", List.of("zgres:" + ADMIN_PASSWORD, Pg.USER + ":" + Pg.PASSWORD), "session", "postgres",
                "/usr/sbin/pgbouncer");
        pgbouncer = new PgbouncerSync(new PgbouncerSync.Settings("pgbouncer", db, Set.of(), "-ro", "", ""),
                pgbouncerProcess::reload);
        haproxy = new HaproxySync(new HaproxySync.Settings("haproxy", work.resolve("haproxy"), "127.0.0.1",
                Map.of(group, new HaproxySync.Ports(rwPort, roPort)), 3, "", "zone", 100, 10, "/usr/sbin/haproxy",
                true));
        engine = new SyncEngine(20, 0, 2000);
        engine.add(pgbouncer, "pgbouncer");
        engine.add(haproxy, "haproxy");
        reader = new ClusterReader(g.observer(), g.paths(), "routing");
        reader.addListener(engine::offer);
        reader.start();
    }

    public ClusterReader reader() {
        return reader;
    }

    /** A new connection through pgbouncer to a database (the group, or the group's read-only database). */
    public Connection viaPgbouncer(String db) throws SQLException {
        return connect(pgbouncerPort, db);
    }

    public Connection viaHaproxy(boolean readWrite) throws SQLException {
        return connect(readWrite ? rwPort : roPort, "postgres");
    }

    static Connection connect(int port, String db) throws SQLException {
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

    @Override
    public void close() {
        reader.close();
        engine.close();
        haproxy.close();
        pgbouncerProcess.close();
    }
}
