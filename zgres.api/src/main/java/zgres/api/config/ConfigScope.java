package zgres.api.config;

import java.util.Set;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The scopes of {@code /config/{scope}/{pid}} a component of this runtime serves, beside {@code all}: a deadman
 * registers its group and its node id, so the configuration bridge mirrors what concerns them.
 */
@ConsumerType
public interface ConfigScope {
    /** @return group names and node ids ({@code group_host:port}) */
    Set<String> scopes();
}
