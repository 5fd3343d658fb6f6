package zgres.api;

import java.util.Locale;

/** What a node's PostgreSQL is doing, as published in {@code /state}. */
public enum Role {
    /** holds the group's lock and accepts writes */
    MASTER,
    /** streams from (or waits for) the master, read-only */
    REPLICA,
    /** holds the lock and is being promoted */
    TAKING_OVER,
    /** was master and has been stopped because its lease ran out or the lock was lost */
    FENCED,
    /** initdb, pg_basebackup, pg_rewind or startup in progress */
    STARTING,
    /** PostgreSQL is not running (crashed, stopped, or refused to join) */
    STOPPED;

    /** @return the name used in JSON: lower case, {@code -} for {@code _} */
    public String jsonName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Parses a JSON role name. */
    public static Role fromJson(String s) {
        if (s == null) {
            throw new IllegalArgumentException("role is missing");
        }
        try {
            return valueOf(s.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown role '" + s + "'");
        }
    }
}
