package zgres.api.sync;

import org.osgi.annotation.versioning.ConsumerType;

import zgres.api.ClusterSnapshot;

/**
 * A sync plugin, registered as an OSGi service. The sync daemon calls {@link #apply} on a thread of the plugin's
 * own with every new snapshot, and once at once when the plugin appears. Implementations MUST be idempotent:
 * they are called repeatedly with the same data. An exception is logged and the call retried with backoff; it
 * never affects other plugins.
 */
@ConsumerType
public interface SyncPlugin {

    /** Service property naming the plugin in logs and in {@code zgres:plugins}. */
    String NAME = "zgres.plugin.name";

    /**
     * Apply a snapshot.
     *
     * @param snapshot the whole cluster as seen now
     * @throws Exception when the snapshot could not be applied; the sync daemon retries
     */
    void apply(ClusterSnapshot snapshot) throws Exception;
}
