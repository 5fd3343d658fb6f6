package zgres.api;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * {@code /backup/{group}}: a backup an operator asked for ({@code zgres:backup}), carried out by the master's backup
 * plugin, which writes how it went into the same znode.
 *
 * @param type full, diff or incr
 * @param requestedAt when it was asked for
 * @param stage requested, running, done or failed
 * @param node the master carrying it out ("" until one does)
 * @param message the outcome in words ("" until there is one)
 * @param updatedAt when the stage last changed
 */
public record BackupRequest(String type, Instant requestedAt, Stage stage, String node, String message,
        Instant updatedAt) {
    public static final List<String> TYPES = List.of("full", "diff", "incr");

    /** How far it got. */
    public enum Stage {
        REQUESTED, RUNNING, DONE, FAILED;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Stage fromJson(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("'" + s + "' is not requested, running, done or failed");
            }
        }

        /** @return true once nothing more happens to the request */
        public boolean finished() {
            return this == DONE || this == FAILED;
        }
    }

    public BackupRequest {
        if (!TYPES.contains(type)) {
            throw new IllegalArgumentException("backup type '" + type + "' must be full, diff or incr");
        }
        if (!node.isEmpty()) {
            NodeId.parse(node);
        }
        if (message.length() > 4000 || !message.chars().allMatch(c -> c >= 0x20 && c != 0x7f)) {
            throw new IllegalArgumentException("backup message: longer than 4000 characters or not printable text");
        }
    }

    /** @return this request at another stage */
    public BackupRequest at(Stage s, String byNode, String msg) {
        String m = msg.replaceAll("[\\x00-\\x1f\\x7f]", " ");
        return new BackupRequest(type, requestedAt, s, byNode, m.length() > 4000 ? m.substring(0, 3997) + "..." : m,
                Instant.now());
    }
}
