package zgres.deadman.publish;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import zgres.api.ConnInfo;
import zgres.api.Lsn;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.PromotionPolicy;
import zgres.api.Role;
import zgres.api.Tags;
import zgres.deadman.ha.Local;
import zgres.deadman.ha.LockOwner;
import zgres.deadman.ha.Observation;
import zgres.deadman.pg.PgStatus;

/**
 * What a node publishes about itself, from what it observed: its role and phase, its problems, positions and tags.
 * Pure: the {@link StatePublisher} writes the result.
 */
public final class StateView {
    private StateView() {}

    /**
     * What the deadman knows that the observation does not carry.
     *
     * @param phase what PostgreSQL is going through as far as the deadman knows (an action in progress, fenced)
     * @param refusal why the deadman refuses to run this data directory (empty when it does not)
     * @param transientProblems recent failures (a cycle that threw, a rewind that did not work)
     */
    public record Facts(NodePhase phase, String refusal, List<String> transientProblems) {}

    /** @return the role to publish (before health vetoes run: they are told it) */
    public static Role role(Observation o, Facts f) {
        Local local = o.local();
        if (!f.refusal().isEmpty()) {
            return Role.STOPPED;
        }
        if (local.running() && local.status().reachable()) {
            if (local.status().inRecovery()) {
                return Role.REPLICA;
            }
            return o.lock() == LockOwner.MINE ? Role.MASTER : Role.FENCED;
        }
        if (local.running()) {
            return Role.STARTING;
        }
        return f.phase() == NodePhase.FENCED ? Role.FENCED : f.phase().busy() ? Role.STARTING : Role.STOPPED;
    }

    /** @return the phase to publish */
    public static NodePhase phase(Observation o, Facts f) {
        Local local = o.local();
        if (!f.refusal().isEmpty()) {
            return NodePhase.REFUSED;
        }
        if (local.running() && local.status().reachable()) {
            if (local.status().inRecovery()) {
                return local.status().streaming() ? NodePhase.STREAMING : NodePhase.RUNNING;
            }
            return NodePhase.RUNNING;
        }
        if (local.running()) {
            return NodePhase.STARTING;
        }
        return f.phase().busy() || f.phase() == NodePhase.FENCED ? f.phase() : NodePhase.STOPPED;
    }

    /**
     * @param vetoes problems the health vetoes reported
     * @param metadata what the metadata providers reported (its {@code zone} becomes the zone tag)
     */
    public static NodeState state(Observation o, Facts f, List<String> vetoes, Map<String, Object> metadata,
            Map<String, String> plugins, PromotionPolicy policy) {
        Local local = o.local();
        Role role = role(o, f);
        List<String> problems = new ArrayList<>();
        if (!f.refusal().isEmpty()) {
            problems.add(f.refusal());
        } else if (local.running() && local.status().reachable()) {
            if (role == Role.FENCED) {
                problems.add("writable without the lock");
            }
            problems.addAll(vetoes);
        } else if (local.running()) {
            problems.add("not accepting connections: " + local.status().error());
        } else {
            problems.add("PostgreSQL is not running");
        }
        problems.addAll(f.transientProblems());
        PgStatus s = local.status();
        Tags tags = o.tags();
        Object zone = metadata.get("zone");
        if (zone != null) {
            tags = new Tags(tags.nofailover(), tags.priority(), zone.toString());
        }
        Lsn receive = s.inRecovery() ? s.receiveLsn() : s.flushLsn();
        Lsn replay = s.inRecovery() ? s.replayLsn() : s.writeLsn();
        return new NodeState(o.me(), role, phase(o, f), s.inRecovery() ? local.configuredUpstream() : "", problems,
                local.timeline(), receive, replay, s.inRecovery() ? Lsn.ZERO : s.writeLsn(), s.lagBytes(),
                local.systemId(), tags, o.group().paused(), plugins, metadata, Instant.now(), policy);
    }

    /** @return the node's {@code /conn} while it is healthy */
    public static Optional<ConnInfo> conn(NodeState s, String dbname) {
        boolean healthy = s.healthy() && (s.role() == Role.MASTER || s.role() == Role.REPLICA);
        return healthy ? Optional.of(new ConnInfo(s.id().host(), s.id().port(), dbname, s.tags().zone()))
                : Optional.empty();
    }
}
