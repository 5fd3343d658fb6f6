package zgres.deadman.ha;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Role;

/**
 * Ranks the candidates for promotion when the lock is free: healthy standbys, not tagged {@code nofailover}, on
 * the newest timeline, within {@code maximum_lag_on_failover} bytes of the master's last published position;
 * best first by received position (64-bit), then priority, then node id.
 */
public final class Election {

    /** A candidate and why it ranks where it does. */
    public record Candidate(NodeId id, Lsn lsn, int timeline, int priority) {
        @Override
        public String toString() {
            return id.address() + " (LSN " + lsn + ", timeline " + timeline
                    + (priority != 0 ? ", priority " + priority : "") + ")";
        }
    }

    /** The ranking and the nodes left out with the reason. */
    public record Ranking(List<Candidate> ranked, List<String> excluded) {
        public Optional<Candidate> best() {
            return ranked.isEmpty() ? Optional.empty() : Optional.of(ranked.get(0));
        }
    }

    private static final Comparator<Candidate> ORDER = Comparator.comparing(Candidate::lsn).reversed()
            .thenComparing(Comparator.comparingInt(Candidate::priority).reversed())
            .thenComparing(Candidate::id);

    private Election() {}

    /**
     * @param group the group (other nodes' states)
     * @param me this node with its fresh position (its published state may be older)
     * @param lastMasterLsn the master's last published position ({@link Lsn#ZERO} when unknown)
     * @param maxLag maximum lag in bytes behind {@code lastMasterLsn}
     */
    public static Ranking rank(GroupState group, Candidate me, boolean meEligible, String meWhy, Lsn lastMasterLsn,
            long maxLag) {
        return rank(group, me, meEligible, meWhy, lastMasterLsn, maxLag, null);
    }

    /**
     * @param syncStandbys in synchronous mode, the nodes listed in {@code /sync} (only they hold every acknowledged
     *        commit); null when not in synchronous mode
     */
    public static Ranking rank(GroupState group, Candidate me, boolean meEligible, String meWhy, Lsn lastMasterLsn,
            long maxLag, java.util.Set<String> syncStandbys) {
        List<Candidate> all = new ArrayList<>();
        List<String> excluded = new ArrayList<>();
        if (meEligible) {
            all.add(me);
        } else {
            excluded.add(me.id().address() + ": " + meWhy);
        }
        for (NodeState s : group.states().values()) {
            if (s.id().equals(me.id())) {
                continue;
            }
            String why = ineligible(group, s);
            if (why != null) {
                excluded.add(s.id().address() + ": " + why);
                continue;
            }
            all.add(new Candidate(s.id(), Lsn.max(s.receiveLsn(), s.replayLsn()), s.timeline(), s.tags().priority()));
        }
        int newest = all.stream().mapToInt(Candidate::timeline).max().orElse(0);
        List<Candidate> ranked = new ArrayList<>();
        for (Candidate c : all) {
            if (syncStandbys != null && !syncStandbys.contains(c.id().toString())) {
                excluded.add(c.id().address() + ": not a synchronous standby (/sync lists " + syncStandbys + ")");
            } else if (c.timeline() < newest) {
                excluded.add(c.id().address() + ": on timeline " + c.timeline() + ", others on " + newest);
            } else if (!lastMasterLsn.equals(Lsn.ZERO) && lastMasterLsn.bytesAfter(c.lsn()) > maxLag) {
                excluded.add(c.id().address() + ": " + lastMasterLsn.bytesAfter(c.lsn())
                        + " bytes behind the master's last position " + lastMasterLsn + " (maximum_lag_on_failover "
                        + maxLag + ")");
            } else {
                ranked.add(c);
            }
        }
        ranked.sort(ORDER);
        return new Ranking(List.copyOf(ranked), List.copyOf(excluded));
    }

    /** @return why a peer cannot be promoted, or null when it can */
    static String ineligible(GroupState group, NodeState s) {
        if (s.role() != Role.REPLICA) {
            return "role " + s.role().jsonName();
        }
        if (!s.problems().isEmpty()) {
            return "unhealthy (" + String.join("; ", s.problems()) + ")";
        }
        if (!group.conns().containsKey(s.id())) {
            return "not healthy (no /conn)";
        }
        if (s.tags().nofailover()) {
            return "tagged nofailover";
        }
        if (!group.dbId().isEmpty() && !s.systemId().isEmpty() && !group.dbId().equals(s.systemId())) {
            return "another cluster (system identifier " + s.systemId() + ")";
        }
        return null;
    }
}
