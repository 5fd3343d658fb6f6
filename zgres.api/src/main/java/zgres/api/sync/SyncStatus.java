package zgres.api.sync;

import java.time.Instant;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/** The sync daemon's account of its plugins, for the shell ({@code zgres:sync}) and for monitoring. */
@ProviderType
public interface SyncStatus {

    /**
     * What one plugin has done.
     *
     * @param name the plugin's name ({@link SyncPlugin#NAME}, with its factory configuration name)
     * @param appliedSequence the sequence of the last snapshot it applied (-1: none yet)
     * @param appliedAt when it last applied one
     * @param applied how many snapshots it applied
     * @param failures how many times it threw
     * @param lastError its last exception, empty when none
     */
    record Plugin(String name, long appliedSequence, Instant appliedAt, long applied, long failures,
            String lastError) {}

    /** @return every plugin, by name */
    List<Plugin> plugins();

    /** Hands the current snapshot to every plugin again now (they are idempotent: nothing changes if nothing did). */
    void resync();
}
