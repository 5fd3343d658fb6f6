package zgres.deadman;

import java.util.Locale;

import zgres.api.SyncMode;
import zgres.deadman.ha.Policy;

/**
 * The options of the deadman's enumerated settings, named as they are written in configuration (lower case): the
 * configuration types return them, so the metatype lists them as options (the validator refuses others) and Config
 * Admin's values are converted to them.
 */
public final class ConfigOptions {
    private ConfigOptions() {}

    /** {@code synchronous_mode} */
    public enum SynchronousMode {
        off, on, strict;

        SyncMode mode() {
            return SyncMode.valueOf(name().toUpperCase(Locale.ROOT));
        }
    }

    /** {@code rewind_failure} */
    public enum RewindFailure {
        reclone, stop;

        Policy.RewindFailure value() {
            return Policy.RewindFailure.valueOf(name().toUpperCase(Locale.ROOT));
        }
    }
}
