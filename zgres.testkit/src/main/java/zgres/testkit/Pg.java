package zgres.testkit;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/** JDBC to a node with short timeouts. */
public final class Pg {
    public static final String USER = "postgres";
    public static final String PASSWORD = "zgres-itest";

    private Pg() {}

    public static Connection connect(String host, int port, int timeoutSeconds) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", PASSWORD);
        p.setProperty("connectTimeout", Integer.toString(timeoutSeconds));
        p.setProperty("loginTimeout", Integer.toString(timeoutSeconds));
        p.setProperty("socketTimeout", Integer.toString(Math.max(2, timeoutSeconds * 3)));
        p.setProperty("tcpKeepAlive", "true");
        Connection c = new org.postgresql.Driver().connect("jdbc:postgresql://" + host + ":" + port + "/postgres", p);
        if (c == null) {
            throw new SQLException("no driver for " + host + ":" + port);
        }
        return c;
    }

    /** @return true when the node accepts writes now (a new connection, a primary, not read-only) */
    public static boolean writable(String host, int port) {
        try (Connection c = connect(host, port, 1); Statement s = c.createStatement()) {
            s.setQueryTimeout(2);
            try (ResultSet rs = s.executeQuery("SELECT NOT pg_is_in_recovery() AND "
                    + "current_setting('default_transaction_read_only') = 'off'")) {
                return rs.next() && rs.getBoolean(1);
            }
        } catch (SQLException e) {
            return false;
        }
    }

    public static String one(String host, int port, String sql) throws SQLException {
        try (Connection c = connect(host, port, 3); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /** @return one value of {@code sql} on the node ("" for NULL), or "error: ..." when it fails (for awaits) */
    public static String text(NodeProcess n, String sql) {
        try {
            String s = one(n.host(), n.port(), sql);
            return s == null ? "" : s;
        } catch (SQLException e) {
            return "error: " + e.getMessage();
        }
    }

    public static void exec(String host, int port, String sql) throws SQLException {
        try (Connection c = connect(host, port, 3); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
