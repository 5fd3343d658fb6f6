package zgres.zookeeper;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.CuratorCacheStorage;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.zookeeper.internal.GroupSelection;
import zgres.zookeeper.internal.SnapshotBuilder;

/**
 * Turns the zgres tree into immutable {@link ClusterSnapshot}s, one per change: a {@link CuratorCache} per directory
 * a snapshot is made of ({@code /state}, {@code /conn}, {@code /lock}, {@code /static}, {@code /sync},
 * {@code /switchover}, {@code /pause}; not {@code /history} or {@code /config}, which grow or are read elsewhere). A
 * znode that cannot be read is logged once (per version) with its path and the reason, and ignored (see
 * {@link SnapshotBuilder}).
 *
 * <p>
 * A {@link CuratorCache} reports a change only when a znode's version differs. A znode deleted and re-created while
 * we were disconnected (a lock taken over by another node) comes back with the same version 0 and the cache updates
 * its copy silently. So the reader also compares every cached znode's creating and modifying transaction ids with
 * those of the last snapshot: after each reconnection and every {@value #CHECK_MS} ms. A missed change is therefore
 * seen at most that long after the cache has it.
 *
 * <p>
 * A reader made for some groups (a deadman's: the group it serves) keeps only their znodes: the others are read as
 * they pass (a {@link CuratorCache} watches the whole directory) and dropped at once, so neither other groups nor junk
 * written under the root grow its memory, and their changes make no snapshot.
 */
public final class ClusterReader implements ClusterCache, Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterReader.class);

    public enum State {
        LATENT, STARTED, CLOSED
    }

    private final String name;
    private final GroupSelection selection;
    private final List<CuratorCache> caches = new ArrayList<>();
    private final SnapshotBuilder builder;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicReference<ClusterSnapshot> current = new AtomicReference<>(ClusterSnapshot.EMPTY);
    private final List<Consumer<ClusterSnapshot>> listeners = new CopyOnWriteArrayList<>();
    /** caches that have not finished their first read */
    private final AtomicInteger unread;
    /** opened once the first snapshot of the whole tree is built */
    private final CountDownLatch initialized = new CountDownLatch(1);
    private final CuratorFramework client;
    private final ConnectionStateListener reconnect;
    private final ScheduledExecutorService checker;
    /** path to the transaction ids of what the current snapshot was built from */
    private volatile Map<String, Ids> built = Map.of();
    private long sequence;

    static final long CHECK_MS = 500;

    /** A reader of every group (the shell, the sync daemon). */
    public ClusterReader(CuratorFramework client, ZkPaths paths, String name) {
        this(client, paths, name, Set.of());
    }

    /** A reader of the given groups only ({@code groups} empty: every group). */
    public ClusterReader(CuratorFramework client, ZkPaths paths, String name, Set<String> groups) {
        this.name = name;
        this.client = client;
        this.selection = new GroupSelection(paths, groups);
        this.builder = new SnapshotBuilder(paths, name);
        for (String dir : paths.snapshotDirs()) {
            caches.add(CuratorCache.builder(client, dir).withStorage(new SelectedStorage(selection))
                    .withExceptionHandler(this::cacheFailed).build());
        }
        this.unread = new AtomicInteger(caches.size());
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "zgres-cache-check-" + name);
            t.setDaemon(true);
            return t;
        });
        this.reconnect = (c, newState) -> {
            if (newState.isConnected()) {
                // the caches re-read in the background after a reconnection: look a few times as they catch up
                for (long delay : new long[] {50, 200, 1000}) {
                    checker.schedule(this::checkForMissedChanges, delay, TimeUnit.MILLISECONDS);
                }
            }
        };
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
                        ChildData d = data != null ? data : oldData;
                        if (unread.get() == 0 && d != null && selection.test(d.getPath())) {
                            rebuild();
                        }
                    })
                    .forInitialized(() -> {
                        if (unread.decrementAndGet() == 0) {
                            rebuild(); // before anyone waiting for the first snapshot is let go
                            initialized.countDown();
                        }
                    })
                    .build());
            c.start();
        }
        client.getConnectionStateListenable().addListener(reconnect);
        checker.scheduleWithFixedDelay(this::checkForMissedChanges, CHECK_MS, CHECK_MS, TimeUnit.MILLISECONDS);
    }

    /** Rebuilds the snapshot if a cached znode changed without the cache reporting it (see the class comment). */
    void checkForMissedChanges() {
        if (state.get() != State.STARTED || !initialized()) {
            return;
        }
        try {
            if (!fingerprint(cached()).equals(built)) {
                LOG.debug("[{}] the cache changed without an event; rebuilding the snapshot", name);
                rebuild();
            }
        } catch (RuntimeException e) {
            LOG.error("[{}] checking the cache failed: {}", name, e.toString(), e);
        }
    }

    private List<ChildData> cached() {
        List<ChildData> all = new ArrayList<>();
        for (CuratorCache c : caches) {
            c.stream().forEach(all::add);
        }
        return all;
    }

    private record Ids(long created, long modified) {
    }

    private static Map<String, Ids> fingerprint(List<ChildData> all) {
        Map<String, Ids> f = new HashMap<>(all.size() * 2);
        for (ChildData d : all) {
            f.put(d.getPath(), d.getStat() == null ? new Ids(0, 0) : new Ids(d.getStat().getCzxid(), d.getStat().getMzxid()));
        }
        return f;
    }

    /**
     * A cache's read failed: without a connection that is expected (one WARN line; the cache reads again once
     * reconnected, and the deadman says what it does meanwhile); anything else gets its stack trace.
     */
    private void cacheFailed(Exception e) {
        if (e instanceof org.apache.zookeeper.KeeperException.ConnectionLossException
                || e instanceof org.apache.zookeeper.KeeperException.SessionExpiredException
                || e instanceof org.apache.zookeeper.KeeperException.SessionMovedException) {
            LOG.warn("[{}] reading the tree failed ({}): read again once reconnected", name, e.getMessage());
        } else {
            LOG.error("[{}] reading the tree failed: {}", name, e.toString(), e);
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
        List<ChildData> all = cached();
        built = fingerprint(all);
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

    /** @return how many znodes the reader holds (tests: what it keeps) */
    public int cachedZnodes() {
        return caches.stream().mapToInt(c -> c.size()).sum();
    }

    /**
     * Curator's standard storage keeping only the selected znodes. A znode passed over is reported as new every time
     * it changes (nothing of it was kept to compare): the reader's listener ignores those events.
     */
    private static final class SelectedStorage implements CuratorCacheStorage {
        private final CuratorCacheStorage kept = CuratorCacheStorage.standard();
        private final GroupSelection selection;

        SelectedStorage(GroupSelection selection) {
            this.selection = selection;
        }

        @Override
        public Optional<ChildData> put(ChildData data) {
            return selection.test(data.getPath()) ? kept.put(data) : Optional.empty();
        }

        @Override
        public Optional<ChildData> remove(String path) {
            return kept.remove(path);
        }

        @Override
        public void clear() {
            kept.clear();
        }

        @Override
        public Optional<ChildData> get(String path) {
            return kept.get(path);
        }

        @Override
        public int size() {
            return kept.size();
        }

        @Override
        public Stream<ChildData> stream() {
            return kept.stream();
        }
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.CLOSED) {
            client.getConnectionStateListenable().removeListener(reconnect);
            checker.shutdownNow();
            caches.forEach(CuratorCache::close);
        }
    }
}
