package zgres.zookeeper.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCacheStorage;
import org.apache.zookeeper.data.Stat;

import zgres.zookeeper.ZkPaths;

/**
 * The znodes a reader keeps, by group, and which groups changed since the last snapshot: a snapshot rebuilds only
 * those ({@link SnapshotBuilder#update}), so what a change costs does not grow with the number of groups.
 *
 * <p>
 * Each cache gets its own {@link #storage() storage} (Curator's standard one) that also reports here. A change is a
 * znode that appears, disappears, or comes back with other creating or modifying transaction ids or another owner
 * session: this sees what a cache stores, including a znode deleted and re-created while disconnected, which comes back
 * with the same version and which the cache itself therefore does not report. Children that name no group (junk under
 * a directory) are kept under the group {@code ""}: a reader of every group reports them.
 */
public final class GroupIndex {
    /** the key of children that name no group */
    public static final String NO_GROUP = GroupSelection.NO_GROUP;

    private final ZkPaths paths;
    private final GroupSelection selection;
    private final Map<String, Map<String, ChildData>> byGroup = new HashMap<>();
    private final Set<String> dirty = new HashSet<>();

    public GroupIndex(ZkPaths paths, GroupSelection selection) {
        this.paths = paths;
        this.selection = selection;
    }

    /** @return the group a path of a snapshot directory belongs to, or null for a directory or what is not kept */
    static String keyOf(ZkPaths paths, String path) {
        String where = GroupSelection.classify(paths, path);
        return GroupSelection.DIRECTORY.equals(where) ? null : where;
    }

    /** Indexes a znode of {@code group} (as classified). */
    synchronized void put(String group, ChildData d) {
        ChildData before = byGroup.computeIfAbsent(group, k -> new HashMap<>()).put(d.getPath(), d);
        if (before == null || !sameVersion(before.getStat(), d.getStat())) {
            dirty.add(group);
        }
    }

    synchronized void remove(String path) {
        String key = keyOf(paths, path);
        if (key == null) {
            return;
        }
        Map<String, ChildData> g = byGroup.get(key);
        if (g != null && g.remove(path) != null) {
            dirty.add(key);
            if (g.isEmpty()) {
                byGroup.remove(key);
            }
        }
    }

    private static boolean sameVersion(Stat a, Stat b) {
        if (a == null || b == null) {
            return a == b;
        }
        return a.getCzxid() == b.getCzxid() && a.getMzxid() == b.getMzxid()
                && a.getEphemeralOwner() == b.getEphemeralOwner();
    }

    /** @return true when some group changed since the last {@link #takeChanged} */
    public synchronized boolean changed() {
        return !dirty.isEmpty();
    }

    /** @return the znodes of every group that changed (empty list: the group is gone), and forgets that they did */
    public synchronized Map<String, List<ChildData>> takeChanged() {
        Map<String, List<ChildData>> out = new HashMap<>(dirty.size() * 2);
        for (String key : dirty) {
            Map<String, ChildData> g = byGroup.get(key);
            out.put(key, g == null ? List.of() : new ArrayList<>(g.values()));
        }
        dirty.clear();
        return out;
    }

    /** @return how many znodes are held (tests: what a reader keeps) */
    public synchronized int size() {
        return byGroup.values().stream().mapToInt(Map::size).sum();
    }

    /** A storage for one cache: Curator's standard one, keeping only the selected znodes and reporting here. */
    public CuratorCacheStorage storage() {
        return new Storage();
    }

    /**
     * A znode passed over is reported by the cache as new every time it changes (nothing of it was kept to compare):
     * the reader's listener ignores those events, and nothing here marks a group changed for them.
     */
    private final class Storage implements CuratorCacheStorage {
        private final CuratorCacheStorage kept = CuratorCacheStorage.standard();

        @Override
        public Optional<ChildData> put(ChildData data) {
            String where = GroupSelection.classify(paths, data.getPath());
            if (!selection.keeps(where)) {
                return Optional.empty();
            }
            if (!where.equals(GroupSelection.DIRECTORY)) {
                GroupIndex.this.put(where, data);
            }
            return kept.put(data);
        }

        @Override
        public Optional<ChildData> remove(String path) {
            GroupIndex.this.remove(path);
            return kept.remove(path);
        }

        @Override
        public void clear() {
            kept.stream().map(ChildData::getPath).toList().forEach(GroupIndex.this::remove);
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
}
