package zgres.api;

/**
 * Connection information of a healthy node, from {@code /conn/{node}}. It never changes while its znode exists.
 */
public record ConnInfo(String host, int port, String dbname, String zone) {
    private static final java.util.regex.Pattern DBNAME = java.util.regex.Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}");
    private static final java.util.regex.Pattern ZONE = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    /**
     * @throws IllegalArgumentException for a host that is not a host name or address ({@link HostName}), a port out
     *         of 1..65535, a database name or a zone with characters that could escape what they are written into
     */
    public ConnInfo {
        HostName.require(host);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("invalid port " + port + ": must be 1..65535");
        }
        zone = zone == null ? "" : zone;
        dbname = dbname == null ? "postgres" : dbname;
        if (!DBNAME.matcher(dbname).matches()) {
            throw new IllegalArgumentException("invalid dbname '" + HostName.printable(dbname) + "': must match "
                    + DBNAME.pattern());
        }
        if (!zone.isEmpty() && !ZONE.matcher(zone).matches()) {
            throw new IllegalArgumentException("invalid zone '" + HostName.printable(zone) + "': must match "
                    + ZONE.pattern());
        }
    }

    /** @return {@code host:port} */
    public String address() {
        return host + ":" + port;
    }
}
