package zgres.zookeeper;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.osgi.annotation.versioning.ProviderType;

import zgres.api.ClusterSnapshot;

/**
 * The runtime's view of every group of the zgres tree, shared by the sync daemon and the shell: immutable snapshots, a
 * new one per change. (A deadman reads only the group it serves: its own {@link ClusterReader} made for that group.)
 */
@ProviderType
public interface ClusterCache {

    /** @return the newest snapshot ({@link ClusterSnapshot#EMPTY} before the first read) */
    ClusterSnapshot snapshot();

    /** Waits for the first full read of the tree. */
    boolean awaitInitialized(long timeout, TimeUnit unit) throws InterruptedException;

    /** @return true once the tree has been read fully */
    boolean initialized();

    /** Registers a listener called with every new snapshot, on the cache's thread: keep it quick. */
    void addListener(Consumer<ClusterSnapshot> listener);

    void removeListener(Consumer<ClusterSnapshot> listener);
}
