package zgres.zookeeper.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupName;
import zgres.api.GroupState;
import zgres.api.MasterLock;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Switchover;
import zgres.api.SyncState;

/**
 * Builds a {@link ClusterSnapshot} from the znodes of the tree (path, content, stat). A znode that cannot be read is
 * logged once per version with its path and the reason, and ignored: a node whose state is unreadable counts as
 * unhealthy (its {@code /conn} is dropped); a node whose system identifier differs from its group's {@code db-id} is
 * marked with a problem and loses its connection info.
 */
public final class SnapshotBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotBuilder.class);

    private final zgres.zookeeper.ZkPaths paths;
    private final String name;
    private final Set<String> reported = ConcurrentHashMap.newKeySet();

    public SnapshotBuilder(zgres.zookeeper.ZkPaths paths, String name) {
        this.paths = paths;
        this.name = name;
    }

    private static final class GroupBuilder {
        final String name;
        MasterLock lock;
        final Map<NodeId, NodeState> states = new HashMap<>();
        final Map<NodeId, ConnInfo> conns = new HashMap<>();
        String dbId = "";
        long timeline;
        SyncState sync = SyncState.NONE;
        boolean paused;
        Switchover switchover;
        final Set<NodeId> unreadable = new HashSet<>();

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
                        states.put(e.getKey(), s.withProblems(problems));
                        conns.remove(e.getKey());
                    }
                }
            }
            return new GroupState(name, Optional.empty(), new TreeMap<>(states), new TreeMap<>(conns), dbId,
                    timeline, sync, paused, Optional.ofNullable(switchover), Optional.ofNullable(lock));
        }
    }

    public ClusterSnapshot build(List<ChildData> nodes, long seq) {
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
                read(parts[0], parts[1], d.getData(), d.getStat(), groups);
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

    private static void read(String dir, String child, byte[] data, Stat stat, Map<String, GroupBuilder> groups) {
        switch (dir) {
            case "state" -> {
                NodeId id = NodeId.parse(child);
                group(groups, id.group()).states.put(id, JsonCodec.readState(id, data));
            }
            case "conn" -> {
                NodeId id = NodeId.parse(child);
                group(groups, id.group()).conns.put(id, JsonCodec.readConn(data));
            }
            case "lock" -> group(groups, child).lock = new MasterLock(JsonCodec.readLock(child, data),
                    stat == null ? 0 : stat.getEphemeralOwner(), stat == null ? 0 : stat.getCzxid());
            case "static" -> {
                if (child.endsWith("-db-id")) {
                    group(groups, child.substring(0, child.length() - 6)).dbId = JsonCodec.readDbId(data);
                } else if (child.endsWith("-timeline")) {
                    group(groups, child.substring(0, child.length() - 9)).timeline = JsonCodec.readTimeline(data);
                }
            }
            case "sync" -> group(groups, child).sync = JsonCodec.readSync(data);
            case "pause" -> group(groups, child).paused = true;
            case "switchover" -> group(groups, child).switchover = JsonCodec.readSwitchover(data);
            default -> {
                // not part of a snapshot
            }
        }
    }
}
