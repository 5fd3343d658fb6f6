package zgres.deadman.pg;

import java.io.Closeable;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

import zgres.api.Lsn;

/**
 * A connection to the local PostgreSQL for the builtin health check and for control statements (pg_promote,
 * ALTER SYSTEM). It reconnects on demand; every statement has a timeout.
 */
public final class LocalConnection implements Closeable {
    private static final String PROBE = """
            SELECT pg_is_in_recovery() AS rec,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS write_lsn,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END AS flush_lsn,
              pg_last_wal_receive_lsn()::text AS receive_lsn,
              pg_last_wal_replay_lsn()::text AS replay_lsn,
              (SELECT system_identifier::text FROM pg_control_system()) AS sysid,
              CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_get_wal_receiver())
                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS tli,
              greatest((SELECT timeline_id FROM pg_control_checkpoint()),
                       (SELECT min_recovery_end_timeline FROM pg_control_recovery())) AS data_tli,
              (SELECT status FROM pg_stat_get_wal_receiver()) AS rstatus,
              (SELECT sender_host || ':' || sender_port FROM pg_stat_get_wal_receiver()) AS upstream,
              (SELECT latest_end_lsn::text FROM pg_stat_get_wal_receiver()) AS end_lsn
            """;

    private final String url;
    private final Properties props;
    private Connection connection;

    public LocalConnection(String host, int port, String dbname, String user, String password) {
        this(host, port, dbname, user, password, java.util.Map.of());
    }

    /** @param extra pgjdbc properties added to (or replacing) the usual ones (timeouts, application name) */
    public LocalConnection(String host, int port, String dbname, String user, String password,
            java.util.Map<String, String> extra) {
        this.url = "jdbc:postgresql://" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port + "/"
                + dbname;
        this.props = new Properties();
        props.setProperty("user", user);
        if (!password.isEmpty()) {
            props.setProperty("password", password);
        }
        props.setProperty("connectTimeout", "3");
        props.setProperty("loginTimeout", "5");
        props.setProperty("socketTimeout", "15");
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("ApplicationName", "zgres-deadman");
        props.setProperty("assumeMinServerVersion", "15");
        extra.forEach(props::setProperty);
    }

    /** @return a new connection (the caller closes it) */
    public Connection open() throws SQLException {
        Connection c = new org.postgresql.Driver().connect(url, props);
        if (c == null) {
            throw new SQLException("pgjdbc rejected " + url);
        }
        return c;
    }

    private synchronized Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = open();
        }
        return connection;
    }

    /** Runs the health check; never throws. */
    public synchronized PgStatus probe() {
        try (Statement st = connection().createStatement()) {
            st.setQueryTimeout(5);
            try (ResultSet rs = st.executeQuery(PROBE)) {
                rs.next();
                boolean rec = rs.getBoolean("rec");
                int dataTli = rs.getInt("data_tli");
                int tli = rs.getInt("tli");
                if (rs.wasNull() || tli == 0) {
                    tli = dataTli; // a standby that does not stream: the timeline its data is on
                }
                return new PgStatus(true, "", rec, tli, lsn(rs.getString("write_lsn")),
                        lsn(rs.getString("flush_lsn")), lsn(rs.getString("receive_lsn")),
                        lsn(rs.getString("replay_lsn")), rs.getString("sysid"), nz(rs.getString("rstatus")),
                        nz(rs.getString("upstream")), lsn(rs.getString("end_lsn")), rec ? dataTli : tli);
            }
        } catch (SQLException | RuntimeException e) {
            closeQuietly();
            return PgStatus.unreachable(message(e));
        }
    }

    /** Runs one statement (ALTER SYSTEM, pg_reload_conf(), ...). */
    public synchronized void execute(String sql, int timeoutSeconds) throws SQLException {
        try (Statement st = connection().createStatement()) {
            st.setQueryTimeout(timeoutSeconds);
            st.execute(sql);
        } catch (SQLException e) {
            closeQuietly();
            throw e;
        }
    }

    /** Runs a query returning one value. */
    public synchronized String queryOne(String sql, int timeoutSeconds) throws SQLException {
        try (Statement st = connection().createStatement()) {
            st.setQueryTimeout(timeoutSeconds);
            try (ResultSet rs = st.executeQuery(sql)) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            closeQuietly();
            throw e;
        }
    }

    /** Runs a query and returns its rows, every column as text (null stays null). */
    public synchronized java.util.List<java.util.List<String>> query(String sql, int timeoutSeconds)
            throws SQLException {
        try (Statement st = connection().createStatement()) {
            st.setQueryTimeout(timeoutSeconds);
            try (ResultSet rs = st.executeQuery(sql)) {
                int n = rs.getMetaData().getColumnCount();
                java.util.List<java.util.List<String>> rows = new java.util.ArrayList<>();
                while (rs.next()) {
                    java.util.List<String> row = new java.util.ArrayList<>(n);
                    for (int i = 1; i <= n; i++) {
                        row.add(rs.getString(i));
                    }
                    rows.add(java.util.Collections.unmodifiableList(row));
                }
                return rows;
            }
        } catch (SQLException e) {
            closeQuietly();
            throw e;
        }
    }

    static String message(Exception e) {
        String m = e.getMessage();
        return m == null ? e.toString() : m.replace('\n', ' ');
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    private static Lsn lsn(String s) {
        return s == null ? Lsn.ZERO : Lsn.parse(s);
    }

    private void closeQuietly() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // already broken
            }
            connection = null;
        }
    }

    @Override
    public synchronized void close() {
        closeQuietly();
    }
}
