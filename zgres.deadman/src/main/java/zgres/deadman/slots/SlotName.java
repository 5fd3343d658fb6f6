package zgres.deadman.slots;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.zip.CRC32;

import zgres.api.NodeId;

/**
 * The name of a member's physical replication slot on the master: {@code zgres_} and the node's host and port in the
 * characters PostgreSQL allows ({@code [a-z0-9_]}, at most 63; the dots of an address become {@code _}). When making
 * the name lost something (a host with dashes or capitals) a checksum of the node id keeps two members apart. Only slots with the prefix are ever
 * created or dropped by zgres: an operator's own slots are left alone.
 */
public final class SlotName {
    public static final String PREFIX = "zgres_";
    private static final int MAX = 63;

    private SlotName() {}

    public static String of(NodeId node) {
        // a host has no '_' (the settings refuse it): '.' -> '_' loses nothing
        String raw = node.host().replace('.', '_') + "_" + node.port();
        String clean = raw.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        String name = PREFIX + clean;
        if (clean.equals(raw) && name.length() <= MAX) {
            return name;
        }
        CRC32 crc = new CRC32();
        crc.update(node.address().getBytes(StandardCharsets.UTF_8));
        String sum = String.format("_%08x", crc.getValue());
        return (name.length() + sum.length() > MAX ? name.substring(0, MAX - sum.length()) : name) + sum;
    }

    /** @return true for a name zgres manages */
    public static boolean managed(String slot) {
        return slot != null && slot.startsWith(PREFIX);
    }
}
