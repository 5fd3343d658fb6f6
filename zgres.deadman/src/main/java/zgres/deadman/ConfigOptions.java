package zgres.deadman;

import java.util.Locale;

import zgres.api.SyncMode;
import zgres.deadman.ha.Policy;

/**
 * The options of the deadman's enumerated settings as they are written in configuration (lower case). The metatype
 * lists them as options (the validator refuses others); a value read without it is parsed here with the same rule.
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

    /** @return the option {@code value} names; adds "key: 'value' must be a, b or c" to {@code errors} otherwise */
    static <E extends Enum<E>> E parse(java.util.List<String> errors, String key, String value, E[] options, E dflt) {
        for (E e : options) {
            if (e.name().equals(value == null ? "" : value.trim().toLowerCase(Locale.ROOT))) {
                return e;
            }
        }
        java.util.List<String> names = java.util.Arrays.stream(options).map(Enum::name).toList();
        errors.add(key + ": '" + value + "' must be " + String.join(", ", names.subList(0, names.size() - 1)) + " or "
                + names.get(names.size() - 1));
        return dflt;
    }
}
