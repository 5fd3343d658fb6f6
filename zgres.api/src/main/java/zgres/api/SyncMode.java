package zgres.api;

import java.util.Locale;

/** {@code synchronous_mode}: whether the master keeps synchronous standbys, and what it does without one. */
public enum SyncMode {
    /** asynchronous replication */
    OFF,
    /** synchronous standbys while there are some; the master writes alone (and nobody is promotable) without */
    ON,
    /** synchronous standbys always: commits wait while there is none */
    STRICT;

    public String jsonName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static SyncMode parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("synchronous_mode: '" + s + "' must be off, on or strict");
        }
    }
}
