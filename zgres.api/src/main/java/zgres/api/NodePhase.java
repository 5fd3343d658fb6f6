package zgres.api;

import java.util.Locale;

/** What a node's PostgreSQL is going through, as published in {@code /state} ({@code "state"}). */
public enum NodePhase {
    /** a primary, or a standby that does not stream (yet) */
    RUNNING,
    /** a standby streaming from its upstream */
    STREAMING,
    /** PostgreSQL was started and does not accept connections yet */
    STARTING,
    /** asked to stop (a switchover, a clean stop) */
    STOPPING,
    /** not running */
    STOPPED,
    /** initdb of the group's first node */
    INITDB,
    /** pg_basebackup from the master */
    BASEBACKUP,
    /** pg_rewind onto the master's timeline */
    REWINDING,
    /** pg_promote() in progress */
    PROMOTING,
    /** killed by the dead man's switch or by the deadman */
    FENCED,
    /** the deadman refuses to run it (another cluster's data, garbage in the data directory) */
    REFUSED;

    /** @return the name used in JSON: lower case */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @return true while a provisioning or promotion step runs: the node is busy, not broken */
    public boolean busy() {
        return switch (this) {
            case INITDB, BASEBACKUP, REWINDING, PROMOTING, STARTING, STOPPING -> true;
            default -> false;
        };
    }

    /** Parses a JSON phase name. */
    public static NodePhase fromJson(String s) {
        if (s == null || s.isEmpty()) {
            throw new IllegalArgumentException("state is missing");
        }
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown state '" + s + "'");
        }
    }
}
