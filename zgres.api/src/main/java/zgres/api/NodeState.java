package zgres.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The published state of one node, from {@code /state/{node}}.
 *
 * @param id node id
 * @param role what PostgreSQL is doing
 * @param phase what PostgreSQL is going through (running, streaming, starting, basebackup, fenced, ...)
 * @param upstream {@code host:port} a replica streams from (empty when none)
 * @param problems health problems; empty when healthy
 * @param timeline current timeline (0 when unknown)
 * @param receiveLsn last WAL position received (replica) or flushed (master)
 * @param replayLsn last WAL position replayed (replica) or written (master)
 * @param writeLsn current write position (master only, else {@link Lsn#ZERO})
 * @param lagBytes replication lag in bytes as seen by the replica (0 on the master)
 * @param systemId PostgreSQL system identifier, empty when unknown
 * @param tags operator tags
 * @param paused whether the node's group was paused as this node saw it
 * @param plugins bundle symbolic name to version of the zgres bundles this node runs
 * @param metadata extra metadata from metadata providers
 * @param updatedAt when the node wrote this state
 * @param policy the node's settings that decide who may be promoted (the master's are the group's)
 */
public record NodeState(NodeId id, Role role, NodePhase phase, String upstream, List<String> problems, int timeline,
        Lsn receiveLsn, Lsn replayLsn, Lsn writeLsn, long lagBytes, String systemId, Tags tags, boolean paused,
        Map<String, String> plugins, Map<String, Object> metadata, Instant updatedAt, PromotionPolicy policy) {

    public NodeState(NodeId id, Role role, NodePhase phase, String upstream, List<String> problems, int timeline,
            Lsn receiveLsn, Lsn replayLsn, Lsn writeLsn, long lagBytes, String systemId, Tags tags, boolean paused,
            Map<String, String> plugins, Map<String, Object> metadata, Instant updatedAt) {
        this(id, role, phase, upstream, problems, timeline, receiveLsn, replayLsn, writeLsn, lagBytes, systemId, tags,
                paused, plugins, metadata, updatedAt, PromotionPolicy.DEFAULT);
    }

    public NodeState {
        problems = List.copyOf(problems);
        plugins = Map.copyOf(plugins);
        metadata = Map.copyOf(metadata);
        systemId = systemId == null ? "" : systemId;
        phase = phase == null ? NodePhase.STOPPED : phase;
        receiveLsn = receiveLsn == null ? Lsn.ZERO : receiveLsn;
        replayLsn = replayLsn == null ? Lsn.ZERO : replayLsn;
        writeLsn = writeLsn == null ? Lsn.ZERO : writeLsn;
        updatedAt = updatedAt == null ? Instant.EPOCH : updatedAt;
        policy = policy == null ? PromotionPolicy.DEFAULT : policy;
        upstream = upstream == null ? "" : upstream;
        tags = tags == null ? Tags.NONE : tags;
    }

    /** @return true when the node reports no problem and PostgreSQL runs as master or replica */
    public boolean healthy() {
        return problems.isEmpty() && (role == Role.MASTER || role == Role.REPLICA);
    }

    /** @return a copy with other problems (e.g. the reader's own findings about it) */
    public NodeState withProblems(List<String> p) {
        return new NodeState(id, role, phase, upstream, p, timeline, receiveLsn, replayLsn, writeLsn, lagBytes, systemId,
                tags, paused, plugins, metadata, updatedAt, policy);
    }

    /** @return the most advanced WAL position this node holds */
    public Lsn bestLsn() {
        return Lsn.max(Lsn.max(receiveLsn, replayLsn), writeLsn);
    }
}
