package zgres.zookeeper.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Role;

/** The checks behind the operator commands, in words: each returns the reason a request is refused. */
final class Operations {
    /** A switchover candidate may be at most this far behind the master (the master re-checks with its setting). */
    static final long SWITCHOVER_MAX_LAG = 1024 * 1024;

    private Operations() {}

    static GroupState group(ClusterSnapshot s, String group) {
        return s.group(group).orElseThrow(() -> new IllegalArgumentException("no group '" + group
                + "' in ZooKeeper (groups: " + String.join(", ", s.groups().keySet()) + ")"));
    }

    /** Accepts a node id ({@code group_host:port}) or an address ({@code host:port}). */
    static NodeId node(String group, String candidate) {
        NodeId id = candidate.contains("_") ? NodeId.parse(candidate) : NodeId.ofAddress(group, candidate);
        if (!id.group().equals(group)) {
            throw new IllegalArgumentException("node " + id + " is not in group " + group);
        }
        return id;
    }

    /** @return why a switchover of {@code g} (to {@code candidate} when present) cannot be requested */
    static Optional<String> switchoverRefusal(GroupState g, Optional<NodeId> candidate) {
        if (g.paused()) {
            return Optional.of("group " + g.name() + " is paused (zgres:resume " + g.name() + " first)");
        }
        if (g.switchover().isPresent()) {
            return Optional.of("a " + g.switchover().get().type() + " of " + g.name() + " is already pending ("
                    + g.switchover().get().state() + "; zgres:cancel " + g.name() + " to drop it)");
        }
        Optional<NodeId> master = g.master();
        if (master.isEmpty() || g.masterConn().isEmpty()) {
            return Optional.of("group " + g.name() + " has no healthy master (use zgres:failover)");
        }
        Optional<NodeState> ms = g.state(master.get());
        if (ms.isEmpty() || ms.get().role() != Role.MASTER) {
            return Optional.of("the master " + master.get().address() + " is not running as master");
        }
        if (candidate.isEmpty()) {
            return g.replicaConns().isEmpty() ? Optional.of("group " + g.name() + " has no healthy replica")
                    : Optional.empty();
        }
        NodeId c = candidate.get();
        if (c.equals(master.get())) {
            return Optional.of(c.address() + " is the master already");
        }
        Optional<NodeState> cs = g.state(c);
        if (cs.isEmpty()) {
            return Optional.of(c.address() + " is not a member of group " + g.name());
        }
        NodeState s = cs.get();
        if (s.role() != Role.REPLICA || !g.conns().containsKey(c) || !s.problems().isEmpty()) {
            return Optional.of(c.address() + " is not a healthy replica (" + s.role().jsonName() + ", " + s.pgState()
                    + (s.problems().isEmpty() ? "" : ": " + String.join("; ", s.problems())) + ")");
        }
        if (!s.upstream().equals(master.get().address())) {
            return Optional.of(c.address() + " does not stream from the master (upstream '" + s.upstream() + "')");
        }
        long lag = ms.get().bestLsn().bytesAfter(s.bestLsn());
        if (lag > SWITCHOVER_MAX_LAG) {
            return Optional.of(c.address() + " is lagging " + lag + " bytes behind the master");
        }
        if (s.tags().nofailover()) {
            return Optional.of(c.address() + " is tagged nofailover");
        }
        if (!g.sync().master().isEmpty() && !g.sync().standbys().isEmpty()
                && !g.sync().standbys().contains(c.toString())) {
            return Optional.of(c.address() + " is not a synchronous standby (/sync lists " + g.sync().standbys()
                    + ")");
        }
        return Optional.empty();
    }

    /**
     * @return why a manual failover to {@code c} could lose acknowledged commits (empty when it cannot): another node
     *         is further ahead, or synchronous mode does not list it
     */
    static List<String> dataLossRisks(GroupState g, NodeId c) {
        List<String> risks = new ArrayList<>();
        NodeState cs = g.state(c).orElseThrow();
        for (NodeState s : g.states().values()) {
            if (!s.id().equals(c) && s.bestLsn().isAfter(cs.bestLsn())) {
                risks.add(s.id().address() + " is " + s.bestLsn().bytesAfter(cs.bestLsn()) + " bytes ahead (at "
                        + s.bestLsn() + ")");
            }
        }
        if (!g.sync().master().isEmpty() && !g.sync().standbys().contains(c.toString())) {
            risks.add("synchronous mode: /sync does not list " + c.address() + " " + g.sync().standbys());
        }
        return risks;
    }

    static Instant parseTime(String at) {
        try {
            return Instant.parse(at);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--at '" + at + "' is not an ISO-8601 instant such as "
                    + "2026-11-26T03:00:00Z");
        }
    }

    static String lsn(Lsn l) {
        return l.toString();
    }
}
