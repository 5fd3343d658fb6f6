package zgres.api.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The one validator of configuration values: the metatype of the bundle that owns a PID ({@code min}, {@code max},
 * options, types, required keys) is the single source of its rules.
 */
@ProviderType
public interface ConfigValidator {

    /** @return true when an installed bundle describes {@code pid} (a PID or a named factory configuration) */
    boolean knows(String pid);

    /**
     * @param complete the properties are the whole configuration (required keys must be present); false for one
     *        layer of it
     * @return one message per problem ({@code pid: key = 'value': reason}); empty when valid or when no bundle
     *         describes the PID
     */
    List<String> validate(String pid, Map<String, Object> properties, boolean complete);

    /**
     * Converts the text of {@code key=value} (the shell) to the attribute's type; comma-separated for arrays.
     *
     * @return the value, or empty when no bundle describes the key (then the caller keeps the text)
     * @throws IllegalArgumentException naming the key and the expected type
     */
    Optional<Object> parse(String pid, String key, String text);
}
