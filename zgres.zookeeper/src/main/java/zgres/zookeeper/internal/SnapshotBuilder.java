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
 * marked with a problem and loses its connection info. Strict reading: {@code /state} and {@code /conn} must be
 * ephemeral, a {@code /conn} must be published by the session of its node's {@code /state} and carry its node's
 * address, no znode may exceed {@link #MAX_ZNODE_BYTES}, and the lock's holder is found by the lock's session.
 */
public final class SnapshotBuilder {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotBuilder.class);

    private final zgres.zookeeper.ZkPaths paths;
    private final String name;
    /** a flood of bad znodes gets this many lines per snapshot, then one line with the count */
    static final int MAX_WARNINGS_PER_SNAPSHOT = 10;

    public SnapshotBuilder(zgres.zookeeper.ZkPaths paths, String name) {
        this.paths = paths;
        this.name = name;
    }

    /** The largest znode a snapshot reads: a bigger one is ignored (a node's state is a few hundred bytes). */
    public static final int MAX_ZNODE_BYTES = 64 * 1024;

    private static final class GroupBuilder {
        final String name;
        MasterLock lock;
        boolean lockSeen;
        long lockSession;
        long lockCreated;
        boolean lockStatless;
        final Map<Long, NodeId> stateSessions = new HashMap<>();
        final Map<NodeId, Long> connSessions = new HashMap<>();
        final List<String> resolved = new ArrayList<>();
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
            resolveLock();
            // the identity members must share: the db-id, unless the node holding the lock (by its session)
            // publishes another one - then /static was changed under a serving master, which keeps serving (and
            // its replicas with it): a changed db-id stops nodes from joining, not the group
            String identity = dbId;
            if (lock != null && !lock.holderUnknown() && states.containsKey(lock.holder())) {
                String masterId = states.get(lock.holder()).systemId();
                if (!masterId.isEmpty() && !dbId.isEmpty() && !masterId.equals(dbId)) {
                    resolved.add("/static/" + name + "-db-id holds " + dbId + " but the master " + lock.holder().address()
                            + " (holding the lock by its session) has system identifier " + masterId + ": the db-id "
                            + "was changed; no node joins until it is put back");
                    identity = masterId;
                }
            }
            if (!identity.isEmpty()) {
                for (Map.Entry<NodeId, NodeState> e : new ArrayList<>(states.entrySet())) {
                    NodeState s = e.getValue();
                    if (!s.systemId().isEmpty() && !s.systemId().equals(identity)) {
                        List<String> problems = new ArrayList<>(s.problems());
                        problems.add("system identifier " + s.systemId() + " differs from the group's " + (identity
                                .equals(dbId) ? "db-id " : "master's ") + identity);
                        states.put(e.getKey(), s.withProblems(problems));
                        conns.remove(e.getKey());
                    }
                }
            }
            // a /conn counts only from the session that publishes the node's /state (the deadman's)
            Map<NodeId, Long> stateSessionOf = new HashMap<>();
            stateSessions.forEach((session, id) -> stateSessionOf.put(id, session));
            conns.keySet().removeIf(id -> {
                long c = connSessions.getOrDefault(id, -1L);
                return c != -1L && !Long.valueOf(c).equals(stateSessionOf.get(id));
            });
            return new GroupState(name, Optional.empty(), new TreeMap<>(states), new TreeMap<>(conns), dbId,
                    timeline, sync, paused, Optional.ofNullable(switchover), Optional.ofNullable(lock));
        }

        /**
         * The lock's holder is the node whose {@code /state} the lock's session publishes, whatever the lock says;
         * a lock owned by a session no node publishes names {@link MasterLock#UNKNOWN_HOST} (nobody to route to).
         */
        private void resolveLock() {
            if (!lockSeen) {
                return;
            }
            NodeId named = lock == null ? null : lock.holder();
            if (lockStatless) {
                return; // a snapshot made without stats (tests of the encoding): the content is all there is
            }
            NodeId bySession = lockSession == 0 ? null : stateSessions.get(lockSession);
            NodeId holder = bySession != null ? bySession : MasterLock.unknownHolder(name);
            if (named == null || !holder.equals(named)) {
                resolved.add("/lock/" + name + " names " + (named == null ? "nothing readable" : named.address())
                        + " but is owned by session 0x" + Long.toHexString(lockSession) + (bySession != null
                                ? ", " + bySession.address() + "'s: " + bySession.address() + " holds it"
                                : ", which publishes no node state of this group: nobody to route to"));
            }
            lock = new MasterLock(holder, lockSession, lockCreated);
        }
    }

    /** What one group's znodes made: its state (none when they make none) and what was wrong with them. */
    private record Built(List<GroupState> groups, List<String> problems, Map<String, Long> malformed,
            Set<String> resolved) {
    }

    /** by group ({@link GroupIndex#NO_GROUP}: children naming no group) */
    private final Map<String, Built> built = new java.util.HashMap<>();
    /** every group's state as last built, and the problems of the groups that have some, in order */
    private final TreeMap<String, GroupState> states = new TreeMap<>();
    private final TreeMap<String, List<String>> problemsByGroup = new TreeMap<>();

    /** A lock or identity finding not logged yet: the group it is about, and since when it holds. */
    private record Pending(String group, long sinceNanos) {
    }

    /** how long a lock or identity finding must hold before it is logged */
    static final long LASTING_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    private final Map<String, Pending> pending = new java.util.LinkedHashMap<>();

    /**
     * Logs the lock and identity findings that have held for a second. A dead master's session loses its
     * {@code /state} and its {@code /lock} in one transaction, but a reader hears of them one after the other: for
     * those milliseconds the lock is owned by a session that publishes no node state, which is true and not worth a
     * warning in every reader at every failover. A finding that lasts is logged once (the reader calls this
     * periodically); one that goes away was never logged.
     *
     * @return the findings logged now
     */
    public synchronized List<String> reportLasting(long nowNanos) {
        List<String> said = new ArrayList<>();
        pending.entrySet().removeIf(e -> {
            if (nowNanos - e.getValue().sinceNanos() < LASTING_NANOS) {
                return false;
            }
            Built b = built.get(e.getValue().group());
            if (b != null && b.resolved().contains(e.getKey())) {
                LOG.warn("[{}] {}", name, e.getKey());
                said.add(e.getKey());
            }
            return true;
        });
        return said;
    }

    /** A snapshot of exactly these znodes: every group is built again. */
    public synchronized ClusterSnapshot build(List<ChildData> nodes, long seq) {
        Map<String, List<ChildData>> byGroup = new HashMap<>();
        for (ChildData d : nodes) {
            String key = GroupIndex.keyOf(paths, d.getPath());
            if (key != null) {
                byGroup.computeIfAbsent(key, k -> new ArrayList<>()).add(d);
            }
        }
        for (String key : built.keySet()) {
            byGroup.putIfAbsent(key, List.of());
        }
        return update(byGroup, seq);
    }

    /**
     * The next snapshot: the groups in {@code changed} are built again from their znodes (an empty list: the group is
     * gone), every other group is taken from the previous snapshot as it was. What a change costs depends on the
     * changed groups, not on how many there are.
     */
    public synchronized ClusterSnapshot update(Map<String, List<ChildData>> changed, long seq) {
        int[] newlyMalformed = {0};
        long now = System.nanoTime();
        changed.forEach((key, nodes) -> {
            Built before = built.remove(key);
            if (before != null) {
                before.groups().forEach(g -> states.remove(g.name()));
                problemsByGroup.remove(key);
            }
            Built b = nodes.isEmpty() ? null : buildGroup(key, nodes, before, newlyMalformed, now);
            Set<String> holds = b == null ? Set.of() : b.resolved();
            // findings of this group that went away before they were said are never said
            pending.entrySet().removeIf(e -> e.getValue().group().equals(key) && !holds.contains(e.getKey()));
            if (b != null) {
                built.put(key, b);
                b.groups().forEach(g -> states.put(g.name(), g));
                if (!b.problems().isEmpty()) {
                    problemsByGroup.put(key, b.problems());
                }
            }
        });
        if (newlyMalformed[0] > MAX_WARNINGS_PER_SNAPSHOT) {
            LOG.warn("[{}] ... and {} more malformed znodes ignored (zgres:list shows every problem)", name,
                    newlyMalformed[0] - MAX_WARNINGS_PER_SNAPSHOT);
        }
        List<String> problems = new ArrayList<>();
        problemsByGroup.values().forEach(problems::addAll);
        return new ClusterSnapshot(seq, Instant.now(), states, problems); // (which copies the groups once)
    }

    /**
     * One group from its znodes. What was logged for the group before is not logged again: a malformed znode once per
     * version, a lock or identity finding once while it holds.
     */
    private Built buildGroup(String key, List<ChildData> nodes, Built before, int[] newlyMalformed, long now) {
        Map<String, GroupBuilder> groups = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        Map<String, Long> malformed = new HashMap<>();
        Set<String> resolvedNow = new HashSet<>();
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
                if (d.getData() != null && d.getData().length > MAX_ZNODE_BYTES) {
                    throw new IllegalArgumentException(d.getData().length + " bytes, more than the "
                            + MAX_ZNODE_BYTES + " a znode may hold here");
                }
                read(parts[0], parts[1], d.getData(), d.getStat(), groups);
            } catch (IllegalArgumentException e) {
                if (parts[0].equals("state")) {
                    markUnreadable(groups, parts[1]);
                }
                String problem = d.getPath() + ": " + e.getMessage();
                problems.add(problem);
                long version = d.getStat() == null ? -1 : d.getStat().getMzxid();
                malformed.put(d.getPath(), version);
                Long was = before == null ? null : before.malformed().get(d.getPath());
                if (was == null || was != version) {
                    if (++newlyMalformed[0] <= MAX_WARNINGS_PER_SNAPSHOT) {
                        LOG.warn("[{}] ignoring malformed znode {}", name, problem);
                    }
                }
            }
        }
        List<GroupState> states = new ArrayList<>();
        groups.forEach((k, v) -> {
            states.add(v.build());
            for (String r : v.resolved) {
                problems.add(r);
                resolvedNow.add(r);
                if (before == null || !before.resolved().contains(r)) {
                    pending.put(r, new Pending(key, now)); // said once it has lasted (see reportLasting)
                }
            }
        });
        return new Built(List.copyOf(states), List.copyOf(problems), malformed, resolvedNow);
    }

    private static void markUnreadable(Map<String, GroupBuilder> groups, String child) {
        try {
            NodeId id = NodeId.parse(child);
            group(groups, id.group()).unreadable.add(id);
        } catch (IllegalArgumentException ignored) {
            // the id itself is malformed: nothing to mark
        }
    }

    /** @return the session owning an ephemeral znode; refuses a persistent one (written by hand or by a tool) */
    private static long ephemeralOwner(Stat stat) {
        if (stat == null) {
            return -1; // a snapshot made without stats (tests of the encoding): nothing to check
        }
        if (stat.getEphemeralOwner() == 0) {
            throw new IllegalArgumentException("not ephemeral: only a running deadman's session publishes it");
        }
        return stat.getEphemeralOwner();
    }

    private static GroupBuilder group(Map<String, GroupBuilder> groups, String name) {
        return groups.computeIfAbsent(GroupName.require(name), GroupBuilder::new);
    }

    private static void read(String dir, String child, byte[] data, Stat stat, Map<String, GroupBuilder> groups) {
        switch (dir) {
            case "state" -> {
                NodeId id = NodeId.parse(child);
                long session = ephemeralOwner(stat);
                NodeState st = JsonCodec.readState(id, data);
                GroupBuilder g = group(groups, id.group());
                g.states.put(id, st);
                if (session != -1) {
                    g.stateSessions.put(session, id);
                }
            }
            case "conn" -> {
                NodeId id = NodeId.parse(child);
                long session = ephemeralOwner(stat);
                ConnInfo c = JsonCodec.readConn(data);
                if (!c.host().equals(id.host()) || c.port() != id.port()) {
                    throw new IllegalArgumentException("its address " + c.address() + " is not its node's "
                            + id.address());
                }
                GroupBuilder g = group(groups, id.group());
                g.conns.put(id, c);
                g.connSessions.put(id, session);
            }
            case "lock" -> {
                // recorded before its content is read: a lock with garbage in it is still held by its session
                GroupBuilder g = group(groups, child);
                g.lockSeen = true;
                g.lockStatless = stat == null;
                g.lockSession = stat == null ? 0 : stat.getEphemeralOwner();
                g.lockCreated = stat == null ? 0 : stat.getCzxid();
                g.lock = new MasterLock(JsonCodec.readLock(child, data), g.lockSession, g.lockCreated);
            }
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
