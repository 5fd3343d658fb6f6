package zgres.deadman;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.metrics.MetricSource;
import zgres.api.metrics.MetricWriter;
import zgres.deadman.ha.Action;
import zgres.deadman.lease.LeaseKeeper;

/**
 * What one deadman measures, for the runtime's {@code /metrics}: its role, the lock and the lease, its positions, the
 * decisions that acted, promotions and fences, its ZooKeeper session, and as master its standbys and the synchronous
 * ones. Counters live here; everything else is read at the scrape from what the deadman already holds.
 */
final class DeadmanMetrics implements MetricSource {
    /** what a scrape reads from the deadman */
    interface Facts {
        Optional<NodeState> published();

        Optional<LeaseKeeper.Lease> lease();

        Optional<GroupState> group();

        boolean zookeeperConnected();

        long sessionTimeoutMs();

        long lastCycleAgeMs();
    }

    private final NodeId me;
    private final Facts facts;
    private final Map<Action, AtomicLong> decisions = new ConcurrentHashMap<>();
    private final AtomicLong promotions = new AtomicLong();
    private final AtomicLong fences = new AtomicLong();

    DeadmanMetrics(NodeId me, Facts facts) {
        this.me = me;
        this.facts = facts;
    }

    void decided(Action a) {
        decisions.computeIfAbsent(a, k -> new AtomicLong()).incrementAndGet();
    }

    void promoted() {
        promotions.incrementAndGet();
    }

    void fenced() {
        fences.incrementAndGet();
    }

    @Override
    public void collect(MetricWriter out) {
        String node = me.toString();
        String group = me.group();
        out.gauge("zgres_deadman_up", "1 while this node's deadman runs", 1, "group", group, "node", node);
        Optional<NodeState> st = facts.published();
        String role = st.map(s -> s.role().name().toLowerCase()).orElse("unknown");
        for (Role r : Role.values()) {
            out.gauge("zgres_role", "1 for the role this node published last (master, replica, ...), else 0",
                    r.name().toLowerCase().equals(role) ? 1 : 0, "group", group, "node", node, "role",
                    r.name().toLowerCase());
        }
        Optional<LeaseKeeper.Lease> lease = facts.lease();
        out.gauge("zgres_lock_held", "1 while this node holds the master lock", lease.isPresent() ? 1 : 0, "group",
                group, "node", node);
        double remaining = lease.map(l -> Math.max(0, l.endNanos() - System.nanoTime()) / 1e9).orElse(0.0);
        out.gauge("zgres_lease_remaining_seconds", "Time left on the master lease PostgreSQL runs under (0 when "
                + "none)", remaining, "group", group, "node", node);
        st.ifPresent(s -> {
            out.gauge("zgres_timeline", "PostgreSQL timeline", s.timeline(), "group", group, "node", node);
            out.gauge("zgres_receive_lsn_bytes", "WAL position received (a replica), as a byte offset",
                    s.receiveLsn().value(), "group", group, "node", node);
            out.gauge("zgres_replay_lsn_bytes", "WAL position replayed (a replica), as a byte offset",
                    s.replayLsn().value(), "group", group, "node", node);
            out.gauge("zgres_write_lsn_bytes", "WAL position written (the master), as a byte offset",
                    s.writeLsn().value(), "group", group, "node", node);
            out.gauge("zgres_replication_lag_bytes", "How far this replica is behind its upstream (0 for the "
                    + "master)", Math.max(0, s.lagBytes()), "group", group, "node", node);
            out.gauge("zgres_problems", "Problems this node reports (health vetoes, failures): 0 when healthy",
                    s.problems().size(), "group", group, "node", node);
        });
        decisions.forEach((a, n) -> out.counter("zgres_decisions_total", "Decisions that acted, by action", n.get(),
                "group", group, "node", node, "action", a.name().toLowerCase()));
        out.counter("zgres_promotions_total", "Promotions of this node's PostgreSQL", promotions.get(), "group",
                group, "node", node);
        out.counter("zgres_fences_total", "Times this node fenced its PostgreSQL (lock lost, or writable without "
                + "it)", fences.get(), "group", group, "node", node);
        out.gauge("zgres_zookeeper_connected", "1 while this deadman's ZooKeeper session is connected",
                facts.zookeeperConnected() ? 1 : 0, "group", group, "node", node);
        out.gauge("zgres_zookeeper_session_timeout_seconds", "The session timeout T the lease rests on",
                facts.sessionTimeoutMs() / 1000.0, "group", group, "node", node);
        out.gauge("zgres_loop_last_decision_age_seconds", "Time since the deadman's loop last decided",
                facts.lastCycleAgeMs() / 1000.0, "group", group, "node", node);
        if (lease.isPresent()) {
            facts.group().ifPresent(g -> standbys(out, g, node));
        }
    }

    /** The master's view of its standbys, from what they publish, and the synchronous ones from {@code /sync}. */
    private static void standbys(MetricWriter out, GroupState g, String node) {
        for (NodeState s : g.states().values()) {
            if (s.role() != Role.REPLICA) {
                continue;
            }
            String standby = s.id().toString();
            out.gauge("zgres_standby_streaming", "1 while the standby streams (as it publishes), per standby",
                    s.phase() == zgres.api.NodePhase.STREAMING ? 1 : 0, "group", g.name(), "node", node, "standby",
                    standby);
            out.gauge("zgres_standby_lag_bytes", "How far the standby is behind, per standby", Math.max(0,
                    s.lagBytes()), "group", g.name(), "node", node, "standby", standby);
            out.gauge("zgres_standby_synchronous", "1 for a standby listed in /sync (synchronous mode)",
                    g.sync().standbys().contains(standby) ? 1 : 0, "group", g.name(), "node", node, "standby",
                    standby);
        }
    }
}
