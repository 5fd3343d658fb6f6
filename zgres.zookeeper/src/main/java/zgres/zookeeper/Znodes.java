package zgres.zookeeper;

import java.util.Map;

import zgres.api.ConnInfo;
import zgres.api.HistoryEntry;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.PauseMarker;
import zgres.api.Switchover;
import zgres.api.SyncState;
import zgres.zookeeper.internal.ConfigJson;
import zgres.zookeeper.internal.JsonCodec;

/**
 * The one schema of the zgres znodes: a record of {@code zgres.api} per znode type, encoded to and decoded from the
 * znode's bytes here and nowhere else. Decoding validates and throws {@link IllegalArgumentException} naming the field
 * and the reason; the caller logs it with the path and ignores the znode.
 */
public final class Znodes {
    private Znodes() {}

    /** {@code /state/{node}} */
    public static byte[] encode(NodeState s) {
        return JsonCodec.writeState(s);
    }

    public static NodeState decodeState(NodeId id, byte[] data) {
        return JsonCodec.readState(id, data);
    }

    /** {@code /conn/{node}} */
    public static byte[] encode(ConnInfo c) {
        return JsonCodec.writeConn(c);
    }

    public static ConnInfo decodeConn(byte[] data) {
        return JsonCodec.readConn(data);
    }

    /** {@code /lock/{group}}: {@code host:port} of the holder */
    public static byte[] encodeLock(NodeId holder) {
        return JsonCodec.writeText(holder.address());
    }

    public static NodeId decodeLock(String group, byte[] data) {
        return JsonCodec.readLock(group, data);
    }

    /** {@code /static/{group}-db-id}: the system identifier */
    public static byte[] encodeDbId(String systemId) {
        return JsonCodec.writeText(systemId);
    }

    public static String decodeDbId(byte[] data) {
        return JsonCodec.readDbId(data);
    }

    /** {@code /static/{group}-timeline} */
    public static byte[] encodeTimeline(long timeline) {
        return JsonCodec.writeText(Long.toString(timeline));
    }

    public static long decodeTimeline(byte[] data) {
        return JsonCodec.readTimeline(data);
    }

    /** {@code /sync/{group}} */
    public static byte[] encode(SyncState s) {
        return JsonCodec.writeSync(s);
    }

    public static SyncState decodeSync(byte[] data) {
        return JsonCodec.readSync(data);
    }

    /** {@code /switchover/{group}} */
    public static byte[] encode(zgres.api.BackupRequest b) {
        return JsonCodec.writeBackupRequest(b);
    }

    /** @throws IllegalArgumentException naming the field when the znode is not a valid backup request */
    public static zgres.api.BackupRequest decodeBackupRequest(byte[] data) {
        return JsonCodec.readBackupRequest(data);
    }

    public static byte[] encode(Switchover s) {
        return JsonCodec.writeSwitchover(s);
    }

    public static Switchover decodeSwitchover(byte[] data) {
        return JsonCodec.readSwitchover(data);
    }

    /** {@code /history/{group}/h-NNNNNNNNNN} */
    public static byte[] encode(HistoryEntry h) {
        return JsonCodec.writeHistory(h);
    }

    public static HistoryEntry decodeHistory(byte[] data) {
        return JsonCodec.readHistory(data);
    }

    /** {@code /pause/{group}} */
    public static byte[] encode(PauseMarker p) {
        return JsonCodec.writePause(p);
    }

    public static PauseMarker decodePause(byte[] data) {
        return JsonCodec.readPause(data);
    }

    /**
     * {@code /config/{scope}/{pid}}: configuration properties. Values keep their JSON type; a key may name its
     * Config Admin type as the OSGi Configurator does ({@code "port:Integer": "6432"}).
     */
    public static byte[] encodeConfig(Map<String, Object> properties) {
        return ConfigJson.write(properties);
    }

    public static Map<String, Object> decodeConfig(byte[] data) {
        return ConfigJson.parse(data);
    }

    /** @return configuration properties as indented JSON, for people */
    public static String describeConfig(Map<String, Object> properties) {
        return ConfigJson.pretty(properties);
    }

    /** @return the value of a Config Admin scalar type ({@code Integer}, {@code Long}, ...) parsed from text */
    public static Object parseConfigValue(String key, String text, String type) {
        return ConfigJson.scalar(key, text, type);
    }

    /** @return text shortened for a message, control characters replaced */
    public static String abbreviate(String s) {
        return JsonCodec.abbreviate(s);
    }
}
