package zgres.zookeeper;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.CuratorCacheBuilder;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.zookeeper.internal.GroupIndex;
import zgres.zookeeper.internal.GroupMembers;
import zgres.zookeeper.internal.GroupSelection;
import zgres.zookeeper.internal.SnapshotBuilder;

/**
 * Turns the zgres tree into immutable {@link ClusterSnapshot}s, one per change of what it reads: {@code /state},
 * {@code /conn}, {@code /lock}, {@code /static}, {@code /sync}, {@code /switchover}, {@code /pause} (not
 * {@code /history} or {@code /config}, which grow or are read elsewhere). A znode that cannot be read is logged once
 * (per version) with its path and the reason, and ignored (see {@link SnapshotBuilder}).
 *
 * <p>
 * How it watches ({@link Watches}): a reader of every group (the sync daemon, the shell) keeps a {@link CuratorCache}
 * per directory (one persistent recursive watch each); a reader of some groups (a deadman: the group it serves) caches
 * each of its groups' znodes on its own and lists {@code /state} and {@code /conn} when their children change, so what
 * other groups write never reaches it ({@link GroupMembers}). Either way the znodes are indexed by group
 * ({@link GroupIndex}) and a change rebuilds only the groups it touched ({@link SnapshotBuilder#update}).
 *
 * <p>
 * A {@link CuratorCache} reports a change only when a znode's version differs: a znode deleted and re-created while
 * we were disconnected (a lock taken over by another node) comes back with the same version 0 and the cache updates
 * its copy silently. The index compares creating and modifying transaction ids and the owner session of everything
 * the caches store, so such a change is seen as the cache re-reads it; a check every {@value #CHECK_MS} ms (and after
 * each reconnection) builds the snapshot when the index changed without an event.
 */
public final class ClusterReader implements ClusterCache, Closeable, zgres.api.metrics.MetricSource {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterReader.class);

    public enum State {
        LATENT, STARTED, CLOSED
    }

    /** How a reader watches the tree. */
    public enum Watches {
        /** one recursive watch per directory: every change of every group reaches the reader (and is dropped) */
        TREE,
        /** a watch per znode of the reader's groups, and a children watch on {@code /state} and {@code /conn} */
        GROUP
    }

    private final String name;
    private final ZkPaths paths;
    private final Set<String> groups;
    private final Watches watches;
    private final GroupIndex index;
    private final List<CuratorCache> caches = new CopyOnWriteArrayList<>();
    private final List<GroupMembers> members = new CopyOnWriteArrayList<>();
    private final SnapshotBuilder builder;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicReference<ClusterSnapshot> current = new AtomicReference<>(ClusterSnapshot.EMPTY);
    private final List<Consumer<ClusterSnapshot>> listeners = new CopyOnWriteArrayList<>();
    /** caches and listings that have not finished their first read */
    private final AtomicInteger unread = new AtomicInteger();
    /** opened once the first snapshot of the whole tree is built */
    private final CountDownLatch initialized = new CountDownLatch(1);
    private final CuratorFramework client;
    private final ConnectionStateListener reconnect;
    private final ScheduledExecutorService checker;
    private final LongAdder events = new LongAdder();
    private long sequence;

    static final long CHECK_MS = 500;

    /** A reader of every group (the shell, the sync daemon). */
    public ClusterReader(CuratorFramework client, ZkPaths paths, String name) {
        this(client, paths, name, Set.of());
    }

    /** A reader of the given groups only ({@code groups} empty: every group), watching only them. */
    public ClusterReader(CuratorFramework client, ZkPaths paths, String name, Set<String> groups) {
        this(client, paths, name, groups, groups.isEmpty() ? Watches.TREE : Watches.GROUP);
    }

    /** A reader of the given groups, watching as told ({@link Watches#GROUP} needs some groups). */
    public ClusterReader(CuratorFramework client, ZkPaths paths, String name, Set<String> groups, Watches watches) {
        if (watches == Watches.GROUP && groups.isEmpty()) {
            throw new IllegalArgumentException("watching by group needs the groups to watch");
        }
        this.name = name;
        this.client = client;
        this.paths = paths;
        this.groups = Set.copyOf(groups);
        this.watches = watches;
        this.index = new GroupIndex(paths, new GroupSelection(groups));
        this.builder = new SnapshotBuilder(paths, name);
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
        unread.incrementAndGet(); // held until every first read is under way
        if (watches == Watches.TREE) {
            for (String dir : paths.snapshotDirs()) {
                open(dir, false);
            }
        } else {
            for (String g : groups) {
                for (String p : List.of(paths.lock(g), paths.dbId(g), paths.timeline(g), paths.sync(g),
                        paths.switchover(g), paths.pause(g))) {
                    open(p, true);
                }
            }
            for (String dir : List.of(paths.stateDir(), paths.connDir())) {
                unread.incrementAndGet();
                GroupMembers m = new GroupMembers(client, dir, groups, p -> open(p, true), this::closeCache,
                        this::firstReadDone);
                members.add(m);
                m.start();
            }
        }
        firstReadDone();
        client.getConnectionStateListenable().addListener(reconnect);
        checker.scheduleWithFixedDelay(this::checkForMissedChanges, CHECK_MS, CHECK_MS, TimeUnit.MILLISECONDS);
    }

    /** Opens and starts the cache of a directory (every child) or of one znode. */
    private CuratorCache open(String path, boolean singleNode) {
        CuratorCacheBuilder b = CuratorCache.builder(client, path).withStorage(index.storage())
                .withExceptionHandler(this::cacheFailed);
        if (singleNode) {
            b = b.withOptions(CuratorCache.Options.SINGLE_NODE_CACHE);
        }
        CuratorCache c = b.build();
        boolean counted = !initialized();
        if (counted) {
            unread.incrementAndGet();
        }
        c.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, oldData, data) -> {
                    events.increment();
                    if (initialized()) {
                        refresh();
                    }
                })
                .forInitialized(() -> {
                    if (counted) {
                        firstReadDone();
                    }
                })
                .build());
        caches.add(c);
        c.start();
        return c;
    }

    private void closeCache(CuratorCache c) {
        caches.remove(c);
        c.close(); // clears its storage: the index forgets the znode, and the group is built again
        if (initialized()) {
            refresh();
        }
    }

    private void firstReadDone() {
        if (unread.decrementAndGet() == 0) {
            rebuild(); // before anyone waiting for the first snapshot is let go
            initialized.countDown();
        }
    }

    /** Builds the next snapshot if some group changed (see the class comment). */
    void checkForMissedChanges() {
        if (state.get() != State.STARTED || !initialized()) {
            return;
        }
        try {
            if (index.changed()) {
                LOG.debug("[{}] the cache changed without an event; building the snapshot", name);
                refresh();
            }
            builder.reportLasting(System.nanoTime()); // lock and identity findings that held for a second
        } catch (RuntimeException e) {
            LOG.error("[{}] checking the cache failed: {}", name, e.toString(), e);
        }
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

    /** The next snapshot, from the groups that changed, handed to the listeners; nothing when none did. */
    private synchronized void refresh() {
        if (index.changed()) {
            rebuild();
        }
    }

    /** Builds the snapshot now (the groups that changed) and hands it to the listeners, even when nothing changed. */
    public synchronized ClusterSnapshot rebuild() {
        if (state.get() == State.CLOSED) {
            return current.get();
        }
        ClusterSnapshot s = builder.update(index.takeChanged(), ++sequence);
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
        return index.size();
    }

    /** @return cache events this reader handled (each a watch notification or a read; those of other groups too) */
    public long events() {
        return events.sum();
    }

    /** What this reader costs: cache events handled, znodes kept, snapshots built, listings (by reader name). */
    @Override
    public void collect(zgres.api.metrics.MetricWriter out) {
        out.counter("zgres_zookeeper_cache_events_total", "Cache events a reader of the tree handled (watch "
                + "notifications and reads, other groups' included)", events(), "reader", name);
        out.gauge("zgres_zookeeper_cached_znodes", "Znodes a reader of the tree keeps", cachedZnodes(), "reader",
                name);
        out.counter("zgres_zookeeper_snapshots_total", "Snapshots a reader of the tree built", current.get()
                .sequence(), "reader", name);
        out.counter("zgres_zookeeper_listings_total", "Listings of /state and /conn by a reader watching its groups",
                listings(), "reader", name);
    }

    /** @return how many times {@code /state} and {@code /conn} were listed ({@link Watches#GROUP}) */
    public long listings() {
        return members.stream().mapToLong(GroupMembers::listings).sum();
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.CLOSED) {
            client.getConnectionStateListenable().removeListener(reconnect);
            checker.shutdownNow();
            members.forEach(GroupMembers::close);
            caches.forEach(CuratorCache::close);
        }
    }
}
