package zgres.api;

import java.util.Objects;

/**
 * {@code /lock/{group}}: the master. The znode is ephemeral: it belongs to the ZooKeeper session that created it and
 * goes with that session.
 *
 * @param holder the node the lock names ({@code host:port} in the znode)
 * @param session the ZooKeeper session owning the znode (0 when unknown)
 * @param created the transaction that created the znode (its czxid; 0 when unknown): a lock re-created later has a
 *        higher one
 */
public record MasterLock(NodeId holder, long session, long created) {
    public MasterLock {
        Objects.requireNonNull(holder, "holder");
    }

    /** The host of the holder of a lock whose session publishes no node state (a reserved, unroutable name). */
    public static final String UNKNOWN_HOST = "unknown-session.invalid";

    public static MasterLock of(NodeId holder) {
        return new MasterLock(holder, 0, 0);
    }

    /** @return the holder of a lock owned by a session that publishes no node state */
    public static NodeId unknownHolder(String group) {
        return new NodeId(group, UNKNOWN_HOST, 1);
    }

    /** @return true when no node's session owns this lock (written by something that is not a deadman) */
    public boolean holderUnknown() {
        return UNKNOWN_HOST.equals(holder.host());
    }
}
