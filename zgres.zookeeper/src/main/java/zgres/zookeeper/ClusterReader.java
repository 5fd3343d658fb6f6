package zgres.zookeeper;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.zookeeper.internal.SnapshotBuilder;

/**
 * Turns the zgres tree into immutable {@link ClusterSnapshot}s, one per change: a {@link CuratorCache} per directory
 * a snapshot is made of ({@code /state}, {@code /conn}, {@code /lock}, {@code /static}, {@code /sync},
 * {@code /switchover}, {@code /pause}; not {@code /history} or {@code /config}, which grow or are read elsewhere). A
 * znode that cannot be read is logged once (per version) with its path and the reason, and ignored (see
 * {@link SnapshotBuilder}).
 */
public final class ClusterReader implements ClusterCache, Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterReader.class);

    public enum State {
        LATENT, STARTED, CLOSED
    }

    private final String name;
    private final List<CuratorCache> caches = new ArrayList<>();
    private final SnapshotBuilder builder;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicReference<ClusterSnapshot> current = new AtomicReference<>(ClusterSnapshot.EMPTY);
    private final List<Consumer<ClusterSnapshot>> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch initialized;
    private long sequence;

    public ClusterReader(CuratorFramework client, ZkPaths paths, String name) {
        this.name = name;
        this.builder = new SnapshotBuilder(paths, name);
        for (String dir : paths.snapshotDirs()) {
            caches.add(CuratorCache.build(client, dir));
        }
        this.initialized = new CountDownLatch(caches.size());
    }

    /** Registers a listener called (on a cache's thread, keep it quick) with every new snapshot. */
    @Override
    public void addListener(Consumer<ClusterSnapshot> listener) {
        listeners.add(listener);
    }

    @Override
    public void removeListener(Consumer<ClusterSnapshot> listener) {
        listeners.remove(listener);
    }

    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("cannot start a " + state.get() + " reader");
        }
        for (CuratorCache c : caches) {
            c.listenable().addListener(CuratorCacheListener.builder()
                    .forAll((type, oldData, data) -> {
                        if (initialized.getCount() == 0) {
                            rebuild();
                        }
                    })
                    .forInitialized(() -> {
                        initialized.countDown();
                        if (initialized.getCount() == 0) {
                            rebuild();
                        }
                    })
                    .build());
            c.start();
        }
    }

    /** Waits for the first full read of the tree. */
    @Override
    public boolean awaitInitialized(long timeout, TimeUnit unit) throws InterruptedException {
        return initialized.await(timeout, unit);
    }

    @Override
    public boolean initialized() {
        return initialized.getCount() == 0;
    }

    @Override
    public ClusterSnapshot snapshot() {
        return current.get();
    }

    /** Rebuilds the snapshot now from the caches and hands it to the listeners. */
    public synchronized ClusterSnapshot rebuild() {
        if (state.get() == State.CLOSED) {
            return current.get();
        }
        List<org.apache.curator.framework.recipes.cache.ChildData> all = new ArrayList<>();
        for (CuratorCache c : caches) {
            c.stream().forEach(all::add);
        }
        ClusterSnapshot s = builder.build(all, ++sequence);
        current.set(s);
        for (Consumer<ClusterSnapshot> l : listeners) {
            try {
                l.accept(s);
            } catch (RuntimeException e) {
                LOG.error("[{}] snapshot listener {} failed: {}", name, l, e.toString(), e);
            }
        }
        return s;
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.CLOSED) {
            caches.forEach(CuratorCache::close);
        }
    }
}
