package zgres.zookeeper.internal;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.api.ConnInfo;
import zgres.api.HistoryEntry;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.PauseMarker;
import zgres.api.PromotionPolicy;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.api.SyncMode;
import zgres.api.SyncState;
import zgres.api.Tags;

/**
 * The JSON of every zgres znode, in one place (the only code that knows the field names). Every reader validates
 * what it reads and throws {@link IllegalArgumentException} naming the field and the reason; callers log it with the
 * path and ignore the znode. Reached through {@link zgres.zookeeper.Znodes}; Jackson stays inside this bundle.
 */
public final class JsonCodec {
    static final ObjectMapper MAPPER = new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT);

    private JsonCodec() {}

    // ---------------------------------------------------------------- /state

    public static byte[] writeState(NodeState s) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("role", s.role().jsonName());
        o.put("state", s.phase().jsonName());
        o.put("upstream", s.upstream());
        o.put("healthy", s.healthy());
        ArrayNode problems = o.putArray("problems");
        s.problems().forEach(problems::add);
        o.put("timeline", s.timeline());
        putLsn(o, "receive_lsn", s.receiveLsn());
        putLsn(o, "replay_lsn", s.replayLsn());
        putLsn(o, "write_lsn", s.writeLsn());
        o.put("lag_bytes", s.lagBytes());
        o.put("system_id", s.systemId());
        ObjectNode tags = o.putObject("tags");
        tags.put("nofailover", s.tags().nofailover());
        tags.put("priority", s.tags().priority());
        tags.put("zone", s.tags().zone());
        o.put("paused", s.paused());
        ObjectNode plugins = o.putObject("plugins");
        new TreeMap<>(s.plugins()).forEach(plugins::put);
        o.set("metadata", MAPPER.valueToTree(new TreeMap<>(s.metadata())));
        o.put("updated_at", s.updatedAt().toString());
        ObjectNode policy = o.putObject("policy");
        policy.put("maximum_lag_on_failover", s.policy().maximumLagOnFailover());
        policy.put("synchronous_mode", s.policy().syncMode().jsonName());
        return bytes(o);
    }

    public static NodeState readState(NodeId id, byte[] data) {
        JsonNode o = object(data);
        Role role = Role.fromJson(text(o, "role", true));
        String st = text(o, "state", false);
        NodePhase phase = st.isEmpty() ? NodePhase.STOPPED : NodePhase.fromJson(st);
        List<String> problems = new ArrayList<>();
        JsonNode p = o.get("problems");
        if (p != null && !p.isNull()) {
            if (!p.isArray()) {
                throw new IllegalArgumentException("field 'problems': expected an array");
            }
            p.forEach(n -> problems.add(n.asText()));
        }
        int timeline = (int) number(o, "timeline", 0, 0, Integer.MAX_VALUE);
        Lsn receive = lsn(o, "receive_lsn");
        Lsn replay = lsn(o, "replay_lsn");
        Lsn write = lsn(o, "write_lsn");
        long lag = number(o, "lag_bytes", 0, 0, Long.MAX_VALUE);
        String systemId = text(o, "system_id", false);
        if (!systemId.isEmpty() && !systemId.matches("[0-9]+")) {
            throw new IllegalArgumentException("field 'system_id': '" + abbreviate(systemId) + "' is not a number");
        }
        Tags tags = Tags.NONE;
        JsonNode t = o.get("tags");
        if (t != null && !t.isNull()) {
            if (!t.isObject()) {
                throw new IllegalArgumentException("field 'tags': expected an object");
            }
            JsonNode nf = t.get("nofailover");
            if (nf != null && !nf.isBoolean()) {
                throw new IllegalArgumentException("field 'tags.nofailover': expected true or false");
            }
            tags = new Tags(nf != null && nf.asBoolean(), (int) number(t, "priority", 0, Integer.MIN_VALUE,
                    Integer.MAX_VALUE), text(t, "zone", false));
        }
        boolean paused = o.path("paused").asBoolean(false);
        Map<String, String> plugins = new TreeMap<>();
        JsonNode pl = o.get("plugins");
        if (pl != null && pl.isObject()) {
            pl.fields().forEachRemaining(e -> plugins.put(e.getKey(), e.getValue().asText()));
        }
        Map<String, Object> metadata = new LinkedHashMap<>();
        JsonNode md = o.get("metadata");
        if (md != null && md.isObject()) {
            md.fields().forEachRemaining(e -> {
                JsonNode v = e.getValue();
                metadata.put(e.getKey(), v.isNumber() ? v.numberValue() : v.isBoolean() ? v.asBoolean() : v.asText());
            });
        }
        Instant updated = instant(o, "updated_at");
        PromotionPolicy policy = PromotionPolicy.DEFAULT;
        JsonNode po = o.get("policy");
        if (po != null && !po.isNull()) {
            if (!po.isObject()) {
                throw new IllegalArgumentException("field 'policy': expected an object");
            }
            String mode = text(po, "synchronous_mode", false);
            policy = new PromotionPolicy(number(po, "maximum_lag_on_failover",
                    PromotionPolicy.DEFAULT.maximumLagOnFailover(), 0, Long.MAX_VALUE),
                    mode.isEmpty() ? SyncMode.OFF : SyncMode.parse(mode));
        }
        return new NodeState(id, role, phase, text(o, "upstream", false), problems, timeline, receive, replay, write,
                lag, systemId, tags, paused, plugins, metadata, updated, policy);
    }

    // ---------------------------------------------------------------- /conn

    public static byte[] writeConn(ConnInfo c) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("host", c.host());
        o.put("port", c.port());
        o.put("dbname", c.dbname());
        o.put("zone", c.zone());
        return bytes(o);
    }

    public static ConnInfo readConn(byte[] data) {
        JsonNode o = object(data);
        String host = text(o, "host", true);
        int port = (int) number(o, "port", -1, 1, 65535);
        if (port < 0) {
            throw new IllegalArgumentException("field 'port' is missing");
        }
        String db = text(o, "dbname", false);
        return new ConnInfo(host, port, db.isEmpty() ? "postgres" : db, text(o, "zone", false));
    }

    // ---------------------------------------------------------------- /lock, /static (plain text)

    public static byte[] writeText(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static String readText(byte[] data) {
        return data == null ? "" : new String(data, StandardCharsets.UTF_8).trim();
    }

    public static NodeId readLock(String group, byte[] data) {
        return NodeId.ofAddress(group, readText(data));
    }

    public static String readDbId(byte[] data) {
        String s = readText(data);
        if (!s.matches("[0-9]{1,20}")) {
            throw new IllegalArgumentException("'" + abbreviate(s) + "' is not a PostgreSQL system identifier");
        }
        return s;
    }

    public static long readTimeline(byte[] data) {
        String s = readText(data);
        try {
            long t = Long.parseLong(s);
            if (t < 1 || t > Integer.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return t;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + abbreviate(s) + "' is not a timeline (a positive integer)");
        }
    }

    // ---------------------------------------------------------------- /sync

    public static byte[] writeSync(SyncState s) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("master", s.master());
        ArrayNode a = o.putArray("standbys");
        s.standbys().forEach(a::add);
        return bytes(o);
    }

    public static SyncState readSync(byte[] data) {
        JsonNode o = object(data);
        List<String> standbys = new ArrayList<>();
        JsonNode a = o.get("standbys");
        if (a != null) {
            if (!a.isArray()) {
                throw new IllegalArgumentException("field 'standbys': expected an array");
            }
            a.forEach(n -> standbys.add(n.asText()));
        }
        return new SyncState(text(o, "master", false), standbys);
    }

    // ---------------------------------------------------------------- /switchover

    public static byte[] writeSwitchover(Switchover s) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("type", s.kind().jsonName());
        o.put("candidate", s.candidate());
        o.put("requested_at", s.requestedAt().toString());
        o.put("scheduled_at", s.scheduledAt().toString());
        o.put("allow_data_loss", s.allowDataLoss());
        o.put("state", s.stage().jsonName());
        o.put("from", s.from());
        putLsn(o, "final_lsn", s.finalLsn());
        return bytes(o);
    }

    public static Switchover readSwitchover(byte[] data) {
        JsonNode o = object(data);
        String type = text(o, "type", false);
        Switchover.Kind kind;
        try {
            kind = type.isEmpty() ? Switchover.Kind.SWITCHOVER : Switchover.Kind.fromJson(type);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field 'type': " + e.getMessage());
        }
        String candidate = text(o, "candidate", false);
        if (!candidate.isEmpty()) {
            NodeId.parse(candidate);
        }
        String state = text(o, "state", false);
        Switchover.Stage stage;
        try {
            stage = state.isEmpty() ? Switchover.Stage.REQUESTED : Switchover.Stage.fromJson(state);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field 'state': " + e.getMessage());
        }
        Instant requested = instant(o, "requested_at");
        Instant scheduled = o.has("scheduled_at") ? instant(o, "scheduled_at") : requested;
        String from = text(o, "from", false);
        if (!from.isEmpty()) {
            NodeId.parse(from); // it reaches logs, decisions and /history: a node id or nothing
        }
        return new Switchover(kind, candidate, requested, scheduled, o.path("allow_data_loss").asBoolean(false),
                stage, from, lsn(o, "final_lsn"));
    }

    // ---------------------------------------------------------------- /backup

    public static byte[] writeBackupRequest(zgres.api.BackupRequest b) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("type", b.type());
        o.put("requested_at", b.requestedAt().toString());
        o.put("state", b.stage().jsonName());
        o.put("node", b.node());
        o.put("message", b.message());
        o.put("updated_at", b.updatedAt().toString());
        return bytes(o);
    }

    public static zgres.api.BackupRequest readBackupRequest(byte[] data) {
        JsonNode o = object(data);
        zgres.api.BackupRequest.Stage stage;
        try {
            stage = zgres.api.BackupRequest.Stage.fromJson(text(o, "state", true));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field 'state': " + e.getMessage());
        }
        Instant requested = instant(o, "requested_at");
        return new zgres.api.BackupRequest(text(o, "type", true), requested, stage, text(o, "node", false),
                text(o, "message", false), o.has("updated_at") ? instant(o, "updated_at") : requested);
    }

    // ---------------------------------------------------------------- /history, /pause

    public static byte[] writeHistory(HistoryEntry h) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("timeline", h.timeline());
        putLsn(o, "lsn", h.lsn());
        o.put("old_master", h.oldMaster());
        o.put("new_master", h.newMaster());
        o.put("reason", h.cause().jsonName());
        o.put("at", h.at().toString());
        return bytes(o);
    }

    public static HistoryEntry readHistory(byte[] data) {
        JsonNode o = object(data);
        String reason = text(o, "reason", false);
        return new HistoryEntry((int) number(o, "timeline", 0, 0, Integer.MAX_VALUE), lsn(o, "lsn"),
                text(o, "old_master", false), text(o, "new_master", false), reason.isEmpty()
                        ? HistoryEntry.Cause.PROMOTION : HistoryEntry.Cause.fromJson(reason), instant(o, "at"));
    }

    public static byte[] writePause(PauseMarker p) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("paused_at", p.pausedAt().toString());
        return bytes(o);
    }

    public static PauseMarker readPause(byte[] data) {
        if (data == null || data.length == 0) {
            return new PauseMarker(Instant.EPOCH); // (a marker created by hand, without content)
        }
        return new PauseMarker(instant(object(data), "paused_at"));
    }

    // ---------------------------------------------------------------- helpers

    static byte[] bytes(JsonNode o) {
        try {
            return MAPPER.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode object(byte[] data) {
        if (data == null || data.length == 0) {
            throw new IllegalArgumentException("empty content, expected a JSON object");
        }
        JsonNode o;
        try {
            o = MAPPER.readTree(data);
        } catch (Exception e) {
            throw new IllegalArgumentException("not JSON: '" + abbreviate(new String(data, StandardCharsets.UTF_8))
                    + "'");
        }
        if (o == null || !o.isObject()) {
            throw new IllegalArgumentException("expected a JSON object, got '"
                    + abbreviate(new String(data, StandardCharsets.UTF_8)) + "'");
        }
        return o;
    }

    private static Instant instant(JsonNode o, String key) {
        String s = text(o, key, false);
        if (s.isEmpty()) {
            return Instant.EPOCH;
        }
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("field '" + key + "': '" + abbreviate(s) + "' is not an ISO-8601 "
                    + "instant");
        }
    }

    private static void putLsn(ObjectNode o, String key, Lsn lsn) {
        o.put(key, lsn.toString());
        o.put(key + "_num", lsn.value());
    }

    private static Lsn lsn(JsonNode o, String key) {
        String s = text(o, key, false);
        if (s.isEmpty()) {
            return Lsn.ZERO;
        }
        try {
            return Lsn.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field '" + key + "': " + e.getMessage());
        }
    }

    private static String text(JsonNode o, String key, boolean required) {
        JsonNode n = o.get(key);
        if (n == null || n.isNull()) {
            if (required) {
                throw new IllegalArgumentException("field '" + key + "' is missing");
            }
            return "";
        }
        if (!n.isValueNode()) {
            throw new IllegalArgumentException("field '" + key + "': expected text");
        }
        return n.asText();
    }

    private static long number(JsonNode o, String key, long dflt, long min, long max) {
        JsonNode n = o.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isIntegralNumber()) {
            throw new IllegalArgumentException("field '" + key + "': '" + abbreviate(n.toString()) + "' is not an integer");
        }
        long v = n.asLong();
        if (v < min || v > max) {
            throw new IllegalArgumentException("field '" + key + "': " + v + " is out of range " + min + ".." + max);
        }
        return v;
    }

    /** Shortens a value for a message and replaces control characters. */
    public static String abbreviate(String s) {
        s = s.replaceAll("[\\p{Cntrl}]", "?");
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
