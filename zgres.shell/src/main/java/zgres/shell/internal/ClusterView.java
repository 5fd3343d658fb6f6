package zgres.shell.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Role;

/** Renders snapshots for people ({@code zgres:list}) and for scripts ({@code zgres:list --json}). */
final class ClusterView {
    /** the JSON of {@code list --json}: the shell's own output, not znode content */
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private ClusterView() {}

    /** Lag of a replica in bytes behind the master's last published position; empty for the master. */
    static Optional<Long> lag(GroupState g, NodeState s) {
        if (g.master().filter(s.id()::equals).isPresent()) {
            return Optional.empty();
        }
        Optional<NodeState> master = g.master().flatMap(g::state);
        if (master.isPresent() && master.get().role() == Role.MASTER) {
            Lsn m = master.get().bestLsn();
            Lsn r = Lsn.max(s.receiveLsn(), s.replayLsn());
            return Optional.of(Math.max(m.bytesAfter(r), s.lagBytes()));
        }
        return Optional.of(s.lagBytes());
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format("%.1f kB", bytes / 1024.0);
        }
        if (bytes < 1024L * 1024 * 1024) {
            return String.format("%.1f MB", bytes / 1048576.0);
        }
        return String.format("%.1f GB", bytes / 1073741824.0);
    }

    static String state(NodeState s) {
        String st = s.phase().jsonName();
        if (!s.upstream().isEmpty() && s.role() == Role.REPLICA) {
            st += " from " + s.upstream();
        }
        return st;
    }

    static String table(ClusterSnapshot snap, Optional<String> only) {
        StringBuilder sb = new StringBuilder();
        for (GroupState g : snap.groups().values()) {
            if (only.isPresent() && !only.get().equals(g.name())) {
                continue;
            }
            String title = "Group: " + g.name() + " (db-id " + (g.dbId().isEmpty() ? "none" : g.dbId())
                    + ", timeline " + g.timeline() + (g.paused() ? ", PAUSED" : "") + ")";
            Table t = new Table(title, "Node", "Role", "State", "TL", "LSN", "Lag", "Zone", "Tags").right(3, 5);
            List<String> notes = new ArrayList<>();
            for (NodeState s : g.states().values()) {
                boolean isMaster = g.master().filter(s.id()::equals).isPresent();
                String role = s.role().jsonName() + (isMaster && s.role() != Role.MASTER ? " (lock)" : "");
                if (!isMaster && s.role() == Role.MASTER) {
                    role += " (no lock!)";
                }
                String tags = (s.tags().nofailover() ? "nofailover " : "")
                        + (s.tags().priority() != 0 ? "priority=" + s.tags().priority() : "");
                t.row(s.id().address(), role, state(s) + (s.healthy() ? "" : " [unhealthy]"),
                        s.timeline() == 0 ? "" : s.timeline(), s.bestLsn().equals(Lsn.ZERO) ? "" : s.bestLsn(),
                        lag(g, s).map(ClusterView::human).orElse(""), s.tags().zone(), tags.trim());
                for (String p : s.problems()) {
                    notes.add("  " + s.id().address() + ": " + p);
                }
                meta(s, "built_by").ifPresent(b -> notes.add("  " + s.id().address() + ": built by " + b));
                meta(s, "backup").ifPresent(b -> notes.add("  " + s.id().address() + ": newest backup " + b));
            }
            if (g.master().isPresent() && !g.states().containsKey(g.master().get())) {
                notes.add("  lock held by " + g.master().get().address() + ", which publishes no state");
            }
            if (g.master().isEmpty()) {
                notes.add("  no master (the lock is free)");
            }
            sb.append(t).append('\n');
            notes.forEach(n -> sb.append(n).append('\n'));
        }
        for (String p : snap.problems()) {
            sb.append("ignored: ").append(p).append('\n');
        }
        if (sb.length() == 0) {
            return only.map(o -> "no group '" + o + "' in ZooKeeper").orElse("no groups in ZooKeeper");
        }
        return sb.toString().stripTrailing();
    }

    /** @return a metadata value as one line of printable text (read from ZooKeeper: no control character passes) */
    static Optional<String> meta(NodeState s, String key) {
        Object v = s.metadata().get(key);
        if (v == null) {
            return Optional.empty();
        }
        String t = String.valueOf(v).replaceAll("\\p{Cntrl}", "?");
        return Optional.of(t.length() > 300 ? t.substring(0, 300) + "..." : t);
    }

    static String json(ClusterSnapshot snap, Optional<String> only) {
        ArrayNode a = JSON.createArrayNode();
        for (GroupState g : snap.groups().values()) {
            if (only.isPresent() && !only.get().equals(g.name())) {
                continue;
            }
            for (NodeState s : g.states().values()) {
                a.add(node(g, s));
            }
        }
        return a.toString();
    }

    static ObjectNode node(GroupState g, NodeState s) {
        ObjectNode o = JSON.createObjectNode();
        NodeId id = s.id();
        o.put("group", g.name());
        o.put("node", id.toString());
        o.put("host", id.host());
        o.put("port", id.port());
        o.put("role", s.role().jsonName());
        o.put("state", s.phase().jsonName());
        o.put("upstream", s.upstream());
        o.put("healthy", s.healthy() && g.conns().containsKey(id));
        o.put("lock", g.master().filter(id::equals).isPresent());
        o.put("timeline", s.timeline());
        o.put("lsn", s.bestLsn().toString());
        o.put("lsn_num", s.bestLsn().value());
        Optional<Long> lag = lag(g, s);
        if (lag.isPresent()) {
            o.put("lag_bytes", lag.get());
        } else {
            o.putNull("lag_bytes");
        }
        o.put("zone", s.tags().zone());
        o.put("nofailover", s.tags().nofailover());
        o.put("priority", s.tags().priority());
        o.put("paused", g.paused());
        o.put("group_timeline", g.timeline());
        o.put("db_id", g.dbId());
        ArrayNode p = o.putArray("problems");
        s.problems().forEach(p::add);
        Map<String, String> plugins = new LinkedHashMap<>(s.plugins());
        ObjectNode pl = o.putObject("plugins");
        plugins.forEach(pl::put);
        o.put("built_by", meta(s, "built_by").orElse(""));
        o.put("backup", meta(s, "backup").orElse(""));
        o.put("updated_at", s.updatedAt().toString());
        return o;
    }
}
