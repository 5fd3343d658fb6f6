package zgres.deadman.pg;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import zgres.api.ConnInfo;
import zgres.api.HostName;

/**
 * How the local tools (pg_basebackup, pg_rewind, the walreceiver) reach other nodes: libpq connection strings that
 * authenticate through a passfile only this user can read, naming each server it is for (no password on a command
 * line, in a config file, or offered to a server nobody named), and
 * the environment they run with.
 */
public final class Libpq {

    private final PgNode.Spec spec;
    private final PgTools tools;
    private final Path passfile;
    private final java.util.Set<String> servers = new java.util.LinkedHashSet<>();

    Libpq(PgNode.Spec spec, PgTools tools, Path passfile) throws IOException {
        this.spec = spec;
        this.tools = tools;
        this.passfile = passfile;
        writePassfile();
    }

    /**
     * The passfile names every server it is for ({@code host:port:*:user:password}), never {@code *}: the
     * passwords are offered only to the servers this node was told to reach - and a host read from ZooKeeper is
     * checked again here ({@link HostName}) before it is written.
     */
    private synchronized void writePassfile() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String server : servers) {
            for (String[] cred : new String[][] {{spec.replicationUser(), spec.replicationPassword()},
                    {spec.superuser(), spec.superuserPassword()}}) {
                if (!cred[1].isEmpty()) {
                    sb.append(server).append(":*:").append(escapePass(cred[0])).append(':')
                            .append(escapePass(cred[1])).append('\n');
                }
            }
        }
        tools.writeFile(passfile, sb.toString(), "rw-------");
    }

    /** Adds {@code to} to the passfile (rewritten when it is new). */
    private synchronized void allow(ConnInfo to) {
        String server = escapePass(HostName.require(to.host())) + ":" + to.port();
        if (servers.add(server)) {
            try {
                writePassfile();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("could not write " + passfile + ": " + e.getMessage(), e);
            }
        }
    }

    private static String escapePass(String s) {
        return s.replace("\\", "\\\\").replace(":", "\\:");
    }

    Map<String, String> env() {
        return Map.of("PGPASSFILE", passfile.toString(), "LC_ALL", "C", "PGCONNECT_TIMEOUT", "5");
    }

    /** libpq connection string to another node, authenticating through the passfile. */
    public String conninfo(ConnInfo to, String user, boolean replication) {
        allow(to);
        StringBuilder sb = new StringBuilder();
        sb.append("host=").append(q(to.host())).append(" port=").append(to.port()).append(" user=").append(q(user))
                .append(" passfile=").append(q(passfile.toString())).append(" connect_timeout=3")
                .append(" keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3");
        if (replication) {
            sb.append(" application_name=").append(q(spec.name()));
        } else {
            sb.append(" dbname=").append(q(to.dbname()));
        }
        return sb.toString();
    }

    private static String q(String v) {
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    static String upstreamOf(String conninfo) {
        if (conninfo == null || conninfo.isBlank()) {
            return "";
        }
        String host = field(conninfo, "host");
        String port = field(conninfo, "port");
        return host.isEmpty() ? "" : host + ":" + (port.isEmpty() ? "5432" : port);
    }

    private static String field(String conninfo, String key) {
        Matcher m = Pattern.compile("(?:^|\\s)" + key
                + "\\s*=\\s*('(?:[^'\\\\]|\\\\.)*'|\\S+)").matcher(conninfo);
        if (!m.find()) {
            return "";
        }
        String v = m.group(1);
        if (v.startsWith("'")) {
            v = v.substring(1, v.length() - 1).replace("\\'", "'").replace("\\\\", "\\");
        }
        return v;
    }
}
