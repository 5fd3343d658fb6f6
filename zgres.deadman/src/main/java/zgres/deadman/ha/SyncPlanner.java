package zgres.deadman.ha;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.PromotionPolicy;
import zgres.api.promotion.PromotionRule;
import zgres.api.promotion.Request;
import zgres.api.SyncMode;

/**
 * Synchronous replication on the master: keeps PostgreSQL's {@code synchronous_standby_names} and
 * {@code /sync/{group}} such that every node listed in {@code /sync} holds every acknowledged commit.
 *
 * <p>Order of operations: a standby is added to {@code synchronous_standby_names} first and published in
 * {@code /sync} only once PostgreSQL reports it {@code sync} and it has flushed the master's flush position seen
 * when it first was (every commit acknowledged before it became a sync standby is older than that position, every
 * later one waits for it). A standby is unpublished from {@code /sync} before it is removed from
 * {@code synchronous_standby_names}. In {@code on} mode the master writes alone when no standby can be
 * synchronous ({@code /sync} then lists nobody, so nobody can be promoted); in {@code strict} mode
 * {@code synchronous_standby_names} is never emptied, so commits wait instead.
 */
public final class SyncPlanner {

    /** A row of pg_stat_replication. */
    public record Standby(String name, String state, String syncState, Lsn flushLsn) {
        boolean streaming() {
            return "streaming".equals(state);
        }

        boolean sync() {
            return "sync".equals(syncState) || "quorum".equals(syncState);
        }
    }

    /**
     * What to do this cycle, in this order: publish {@code unpublish} (a smaller /sync), then set
     * {@code synchronous_standby_names}, then publish {@code publish}. Empty optionals change nothing.
     */
    public record Plan(Optional<List<String>> unpublish, Optional<String> standbyNames, Optional<List<String>> publish,
            String reason) {
        public boolean nothing() {
            return unpublish.isEmpty() && standbyNames.isEmpty() && publish.isEmpty();
        }

        /** @return this plan, first claiming /sync for this master with nobody listed */
        public Plan claimingSync() {
            return new Plan(Optional.of(unpublish.orElse(List.of())), standbyNames, publish,
                    "/sync names another master: claiming it; " + reason);
        }
    }

    private SyncPlanner() {}

    /**
     * @param me the master
     * @param group the group as the master sees it (its master is {@code me})
     * @param current names in synchronous_standby_names now ("*" for any)
     * @param published standbys in /sync now
     * @param replication pg_stat_replication, by application_name
     * @param candidateSince for each name added to synchronous_standby_names: the master's flush position when
     *        it was first reported sync (empty when not yet)
     */
    public static Plan plan(SyncMode mode, int count, NodeId me, GroupState group, List<String> current,
            List<String> published, Map<String, Standby> replication, Map<String, Lsn> candidateSince) {
        if (mode == SyncMode.OFF) {
            return new Plan(published.isEmpty() ? Optional.empty() : Optional.of(List.of()),
                    current.isEmpty() ? Optional.empty() : Optional.of(""), Optional.empty(),
                    "synchronous_mode is off");
        }
        // standbys that can be synchronous: replicas the promotion rule would let take over from us (a synchronous
        // standby that could not be promoted would protect nothing), streaming
        Request may = Request.switchover(new PromotionPolicy(Long.MAX_VALUE, SyncMode.OFF), Lsn.ZERO, 0);
        List<NodeState> eligible = group.states().values().stream()
                .filter(s -> !s.id().equals(me) && PromotionRule.refusal(s.id(), group, may).isEmpty())
                .filter(s -> Optional.ofNullable(replication.get(s.id().toString())).map(Standby::streaming)
                        .orElse(false))
                .sorted(Comparator.comparing((NodeState s) -> !published.contains(s.id().toString()))
                        .thenComparing(s -> !current.contains(s.id().toString()))
                        .thenComparing(NodeState::lagBytes).thenComparing(NodeState::id))
                .toList();
        List<String> desired = eligible.stream().limit(Math.max(1, count)).map(s -> s.id().toString()).toList();
        Set<String> desiredSet = new TreeSet<>(desired);
        // 1. unpublish first whatever is going away
        List<String> keep = published.stream().filter(desiredSet::contains).toList();
        Optional<List<String>> unpublish = keep.size() == published.size() ? Optional.empty() : Optional.of(keep);
        // 2. then PostgreSQL
        Optional<String> names = Optional.empty();
        Set<String> cur = new TreeSet<>(current);
        if (!cur.equals(desiredSet)) {
            if (!desired.isEmpty()) {
                names = Optional.of(standbyNames(desired));
            } else if (mode == SyncMode.STRICT) {
                // never asynchronous: any standby that comes back must confirm each commit
                names = current.equals(List.of("*")) ? Optional.empty() : Optional.of("*");
            } else if (!current.isEmpty()) {
                names = Optional.of("");
            }
        }
        // 3. publish newcomers that are proven in sync
        List<String> publish = new ArrayList<>(keep);
        for (String n : desired) {
            if (publish.contains(n) || !cur.contains(n)) {
                continue;
            }
            Standby st = replication.get(n);
            Lsn since = candidateSince.get(n);
            if (st != null && st.sync() && since != null && st.flushLsn().compareTo(since) >= 0) {
                publish.add(n);
            }
        }
        Optional<List<String>> pub = new LinkedHashSet<>(publish).equals(new LinkedHashSet<>(keep))
                ? Optional.empty() : Optional.of(publish);
        String reason = "synchronous standbys wanted " + desired + (names.map(v -> ", synchronous_standby_names = '"
                + v + "'").orElse("")) + unpublish.map(u -> ", unpublishing to " + u).orElse("")
                + pub.map(p -> ", publishing " + p).orElse("");
        return new Plan(unpublish, names, pub, reason);
    }

    /** @return {@code FIRST n ("a","b")} for the given names */
    public static String standbyNames(List<String> names) {
        return "FIRST " + names.size() + " (" + names.stream().map(n -> "\"" + n.replace("\"", "\"\"") + "\"")
                .collect(Collectors.joining(",")) + ")";
    }

    /** Parses synchronous_standby_names into its names ("*" for any). */
    public static List<String> parseNames(String value) {
        List<String> r = new ArrayList<>();
        if (value == null || value.isBlank()) {
            return r;
        }
        String v = value.trim();
        int open = v.indexOf('(');
        int close = v.lastIndexOf(')');
        if (open >= 0 && close > open) {
            v = v.substring(open + 1, close);
        }
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '"') {
                if (quoted && i + 1 < v.length() && v.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else {
                    quoted = !quoted;
                }
            } else if (c == ',' && !quoted) {
                add(r, cur);
            } else if (quoted || !Character.isWhitespace(c)) {
                cur.append(c);
            }
        }
        add(r, cur);
        return r;
    }

    private static void add(List<String> r, StringBuilder cur) {
        String s = cur.toString().trim();
        if (!s.isEmpty()) {
            r.add(s);
        }
        cur.setLength(0);
    }
}
