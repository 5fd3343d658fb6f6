package zgres.zookeeper;

import java.io.Closeable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupName;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.SyncState;

/**
 * Watches the whole zgres tree with one {@link CuratorCache} and turns it into immutable
 * {@link ClusterSnapshot}s, one per change. A znode that cannot be read is logged once (per version) with its
 * path and the reason, and ignored: a node whose state is unreadable counts as unhealthy; a node whose system
 * identifier differs from its group's {@code db-id} is marked with a problem and loses its connection info.
 */
public final class ClusterReader implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterReader.class);

    public enum State {
        LATENT, STARTED, CLOSED
    }

    private final ZkPaths paths;
    private final CuratorCache cache;
    private final String name;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicReference<ClusterSnapshot> current = new AtomicReference<>(ClusterSnapshot.EMPTY);
    private final List<Consumer<ClusterSnapshot>> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch initialized = new CountDownLatch(1);
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private long sequence;

    public ClusterReader(CuratorFramework client, ZkPaths paths, String name) {
        this.paths = paths;
        this.name = name;
        this.cache = CuratorCache.build(client, paths.root());
    }

    /** Registers a listener called (on the cache's thread, keep it quick) with every new snapshot. */
    public void addListener(Consumer<ClusterSnapshot> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<ClusterSnapshot> listener) {
        listeners.remove(listener);
    }

    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("cannot start a " + state.get() + " reader");
        }
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, oldData, data) -> {
                    if (initialized.getCount() == 0) {
                        rebuild();
                    }
                })
                .forInitialized(() -> {
                    rebuild();
                    initialized.countDown();
                })
                .build());
        cache.start();
    }

    /** Waits for the first full read of the tree. */
    public boolean awaitInitialized(long timeout, TimeUnit unit) throws InterruptedException {
        return initialized.await(timeout, unit);
    }

    public ClusterSnapshot snapshot() {
        return current.get();
    }

    /** Rebuilds the snapshot now from the cache (also used to force a fresh snapshot). */
    public synchronized ClusterSnapshot rebuild() {
        if (state.get() == State.CLOSED) {
            return current.get();
        }
        ClusterSnapshot s = build(cache.stream().toList(), ++sequence);
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

    /** Reads the cache's raw data of one path (for example a switchover request). */
    public Optional<ChildData> raw(String path) {
        return cache.get(path);
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.CLOSED) {
            cache.close();
        }
    }

    private static final class GroupBuilder {
        final String name;
        NodeId master;
        final Map<NodeId, NodeState> states = new HashMap<>();
        final Map<NodeId, ConnInfo> conns = new HashMap<>();
        String dbId = "";
        long timeline;
        SyncState sync = SyncState.NONE;
        boolean paused;
        zgres.api.Switchover switchover;
        final java.util.Set<NodeId> unreadable = new java.util.HashSet<>();

        GroupBuilder(String name) {
            this.name = name;
        }

        GroupState build() {
            unreadable.forEach(conns::remove);
            if (!dbId.isEmpty()) {
                for (Map.Entry<NodeId, NodeState> e : new ArrayList<>(states.entrySet())) {
                    NodeState s = e.getValue();
                    if (!s.systemId().isEmpty() && !s.systemId().equals(dbId)) {
                        List<String> problems = new ArrayList<>(s.problems());
                        problems.add("system identifier " + s.systemId() + " differs from the group's db-id " + dbId);
                        states.put(e.getKey(), new NodeState(s.id(), s.role(), s.pgState(), s.upstream(), problems,
                                s.timeline(), s.receiveLsn(), s.replayLsn(), s.writeLsn(), s.lagBytes(), s.systemId(),
                                s.tags(), s.paused(), s.plugins(), s.metadata(), s.updatedAt()));
                        conns.remove(e.getKey());
                    }
                }
            }
            return new GroupState(name, Optional.ofNullable(master), new TreeMap<>(states), new TreeMap<>(conns), dbId,
                    timeline, sync, paused, Optional.ofNullable(switchover));
        }
    }

    ClusterSnapshot build(List<ChildData> nodes, long seq) {
        Map<String, GroupBuilder> groups = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        for (ChildData d : nodes) {
            String rel = paths.relative(d.getPath());
            if (rel == null || rel.isEmpty()) {
                continue;
            }
            String[] parts = rel.split("/");
            if (parts.length != 2) {
                continue;
            }
            try {
                read(parts[0], parts[1], d.getData(), groups);
            } catch (IllegalArgumentException e) {
                if (parts[0].equals("state")) {
                    markUnreadable(groups, parts[1]);
                }
                String problem = d.getPath() + ": " + e.getMessage();
                problems.add(problem);
                long version = d.getStat() == null ? -1 : d.getStat().getMzxid();
                if (reported.add(d.getPath() + "@" + version)) {
                    LOG.warn("[{}] ignoring malformed znode {}", name, problem);
                }
            }
        }
        Map<String, GroupState> built = new TreeMap<>();
        groups.forEach((k, v) -> built.put(k, v.build()));
        return new ClusterSnapshot(seq, Instant.now(), new TreeMap<>(built), problems);
    }

    private static void markUnreadable(Map<String, GroupBuilder> groups, String child) {
        try {
            NodeId id = NodeId.parse(child);
            group(groups, id.group()).unreadable.add(id);
        } catch (IllegalArgumentException ignored) {
            // the id itself is malformed: nothing to mark
        }
    }

    private static GroupBuilder group(Map<String, GroupBuilder> groups, String name) {
        return groups.computeIfAbsent(GroupName.require(name), GroupBuilder::new);
    }

    private static void read(String dir, String child, byte[] data, Map<String, GroupBuilder> groups) {
        switch (dir) {
            case "state" -> {
                NodeId id = NodeId.parse(child);
                NodeState s = ZnodeCodec.readState(id, data);
                group(groups, id.group()).states.put(id, s);
            }
            case "conn" -> {
                NodeId id = NodeId.parse(child);
                group(groups, id.group()).conns.put(id, ZnodeCodec.readConn(data));
            }
            case "lock" -> group(groups, child).master = ZnodeCodec.readLock(child, data);
            case "static" -> {
                if (child.endsWith("-db-id")) {
                    group(groups, child.substring(0, child.length() - 6)).dbId = ZnodeCodec.readDbId(data);
                } else if (child.endsWith("-timeline")) {
                    group(groups, child.substring(0, child.length() - 9)).timeline = ZnodeCodec.readTimeline(data);
                }
            }
            case "sync" -> group(groups, child).sync = ZnodeCodec.readSync(data);
            case "pause" -> group(groups, child).paused = true;
            case "switchover" -> group(groups, child).switchover = ZnodeCodec.readSwitchover(data);
            default -> {
                // history, config, bootstrap: read where they are used
            }
        }
    }
}
