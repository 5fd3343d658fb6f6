package zgres.deadman.pg;

import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;

import zgres.api.ConnInfo;

/**
 * What a node copies from must be this group's: pg_basebackup and pg_rewind copy from whatever server a connection
 * string reaches, and {@code /conn} is data read from ZooKeeper. Before a clone the source's system identifier must
 * equal the group's db-id; before a rewind also, and the source's timeline history must contain the timeline of our
 * data (else pg_rewind would graft our cluster onto a history it never was part of).
 */
public final class SourceCheck {

    /** The source is not this group's (or not on a history containing ours): nothing was copied. */
    public static final class Refused extends IOException {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private SourceCheck() {}

    /**
     * Before pg_basebackup: asks the source, over a physical replication connection as the replication user (the one
     * pg_basebackup will use), for its system identifier ({@code IDENTIFY_SYSTEM}).
     *
     * @throws Refused when it differs from {@code dbId}
     * @throws IOException when the source cannot be asked
     */
    public static void forClone(ConnInfo source, String user, String password, String dbId) throws IOException {
        // a physical replication connection, as pg_basebackup makes it (simple protocol for IDENTIFY_SYSTEM)
        LocalConnection replication = new LocalConnection(source.host(), source.port(), "replication", user, password,
                java.util.Map.of("replication", "true", "preferQueryMode", "simple", "connectTimeout", "5",
                        "loginTimeout", "10", "socketTimeout", "60"));
        String systemId;
        try (Connection c = replication.open(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            systemId = rs.getString("systemid");
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("28")) {
                // every node of the group has the replication role with the group's password
                throw new Refused("refusing to copy from or follow " + source.address() + ": it does not accept "
                        + "this group's replication role (" + e.getMessage() + "): not this group's server");
            }
            throw new IOException("could not ask " + source.address() + " for its system identifier: "
                    + e.getMessage(), e);
        }
        requireSame(source, systemId, dbId, "clone");
    }

    /**
     * Before pg_rewind (after the CHECKPOINT that publishes a new master's timeline), as the superuser pg_rewind uses:
     * the source's system identifier and its timeline history.
     *
     * @param localTimeline the timeline of our data (pg_control)
     * @throws Refused when the identifier differs from {@code dbId}, or the source's timeline is older than ours or
     *         its history does not contain ours
     */
    public static void forRewind(ConnInfo source, String user, String password, String dbId, int localTimeline)
            throws IOException {
        String systemId;
        int timeline;
        String history = "";
        LocalConnection superuser = new LocalConnection(source.host(), source.port(), source.dbname(), user,
                password, java.util.Map.of("connectTimeout", "5", "loginTimeout", "10", "socketTimeout", "60"));
        try (Connection c = superuser.open(); Statement st = c.createStatement()) {
            st.setQueryTimeout(30);
            try (ResultSet rs = st.executeQuery("SELECT (SELECT system_identifier::text FROM pg_control_system()), "
                    + "(SELECT timeline_id FROM pg_control_checkpoint())")) {
                rs.next();
                systemId = rs.getString(1);
                timeline = rs.getInt(2);
            }
            if (timeline > 1 && timeline != localTimeline) {
                try (ResultSet rs = st.executeQuery("SELECT pg_read_file('pg_wal/" + String.format("%08X", timeline)
                        + ".history')")) {
                    rs.next();
                    history = rs.getString(1);
                }
            }
        } catch (SQLException e) {
            throw new IOException("could not ask " + source.address() + " for its system identifier and timeline "
                    + "history: " + e.getMessage(), e);
        }
        requireSame(source, systemId, dbId, "rewind");
        if (localTimeline > 0 && timeline < localTimeline) {
            throw new Refused("refusing to rewind from " + source.address() + ": it is on timeline " + timeline
                    + ", older than our data's " + localTimeline);
        }
        if (localTimeline > 0 && timeline != localTimeline && !parents(history).contains(localTimeline)) {
            throw new Refused("refusing to rewind from " + source.address() + ": its timeline " + timeline
                    + " does not descend from our data's timeline " + localTimeline + " (history: "
                    + history.strip().replace('\n', ';').replace('\t', ' ') + ")");
        }
    }

    /** @return the parent timelines listed in a timeline history file ("parentTLI switchpoint reason" lines) */
    static Set<Integer> parents(String history) {
        Set<Integer> tlis = new HashSet<>();
        for (String line : history.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            String first = l.split("\\s+")[0];
            if (first.matches("[0-9]{1,10}")) {
                tlis.add(Integer.parseInt(first));
            }
        }
        return tlis;
    }

    private static void requireSame(ConnInfo source, String systemId, String dbId, String what) throws Refused {
        if (dbId == null || dbId.isEmpty()) {
            throw new Refused("refusing to " + what + " from " + source.address() + ": the group has no db-id to "
                    + "check its system identifier " + systemId + " against");
        }
        if (!dbId.equals(systemId)) {
            throw new Refused("refusing to " + what + " from " + source.address() + ": its system identifier "
                    + systemId + " differs from the group's db-id " + dbId + " (another cluster's server)");
        }
    }
}
