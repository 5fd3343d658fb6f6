package zgres.api;

import java.util.Objects;

/**
 * Identity of one PostgreSQL cluster in a group: {@code {group}_{host}:{port}}. The id is split at the last
 * {@code _} (group names cannot contain one) and the address at the last {@code :}.
 */
public record NodeId(String group, String host, int port) implements Comparable<NodeId> {

    public NodeId {
        GroupName.require(group);
        Objects.requireNonNull(host, "host");
        HostName.require(host);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("invalid port " + port + ": must be 1..65535");
        }
    }

    /** Parses {@code group_host:port}. */
    public static NodeId parse(String id) {
        if (id == null) {
            throw new IllegalArgumentException("node id is null");
        }
        int us = id.lastIndexOf('_');
        if (us <= 0) {
            throw new IllegalArgumentException("invalid node id '" + id + "': expected {group}_{host}:{port}");
        }
        String group = id.substring(0, us);
        return ofAddress(group, id.substring(us + 1));
    }

    /** Builds a node id from a group and a {@code host:port} address. */
    public static NodeId ofAddress(String group, String address) {
        int colon = address == null ? -1 : address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new IllegalArgumentException("invalid address '" + address + "': expected {host}:{port}");
        }
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid port in '" + address + "'");
        }
        return new NodeId(group, address.substring(0, colon), port);
    }

    /** @return {@code host:port} */
    public String address() {
        return host + ":" + port;
    }

    @Override
    public String toString() {
        return group + "_" + address();
    }

    @Override
    public int compareTo(NodeId o) {
        return toString().compareTo(o.toString());
    }
}
