package zgres.api;

/**
 * Connection information of a healthy node, from {@code /conn/{node}}. It never changes while its znode exists.
 */
public record ConnInfo(String host, int port, String dbname, String zone) {
    public ConnInfo {
        zone = zone == null ? "" : zone;
        dbname = dbname == null ? "postgres" : dbname;
    }

    /** @return {@code host:port} */
    public String address() {
        return host + ":" + port;
    }
}
