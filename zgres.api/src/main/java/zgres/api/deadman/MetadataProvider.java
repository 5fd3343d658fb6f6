package zgres.api.deadman;

import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Adds metadata to the node's {@code /state} (for example its availability zone). The key {@code zone} also sets
 * the node's zone tag and its {@code /conn} zone.
 */
@ConsumerType
public interface MetadataProvider {
    /** @return metadata to merge into the node's state; values must be JSON-compatible (String, Number, Boolean) */
    Map<String, Object> metadata(NodeContext node) throws Exception;
}
