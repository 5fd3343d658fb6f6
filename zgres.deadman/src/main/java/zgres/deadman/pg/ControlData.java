package zgres.deadman.pg;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** What {@code pg_controldata} says about a stopped (or crashed) cluster. */
public record ControlData(String systemId, String state, int timeline, int minRecoveryTimeline,
        zgres.api.Lsn checkpointLsn) {

    public ControlData(String systemId, String state, int timeline) {
        this(systemId, state, timeline, 0, zgres.api.Lsn.ZERO);
    }

    public ControlData(String systemId, String state, int timeline, int minRecoveryTimeline) {
        this(systemId, state, timeline, minRecoveryTimeline, zgres.api.Lsn.ZERO);
    }

    /** @return the timeline the data files are on: the latest checkpoint's or the minimum recovery point's */
    public int dataTimeline() {
        return Math.max(timeline, minRecoveryTimeline);
    }

    /** @return true when the cluster last ran as a primary (not in recovery) */
    public boolean wasPrimary() {
        return state.equals("in production") || state.equals("shut down") || state.equals("shutting down");
    }

    /** @return true when the cluster was shut down cleanly */
    public boolean cleanShutdown() {
        return state.startsWith("shut down");
    }

    public static ControlData read(PgTools tools, java.nio.file.Path dataDir) throws IOException {
        Exec.Result r = tools.require(Duration.ofSeconds(30), Map.of("LC_ALL", "C"), "pg_controldata", "-D",
                dataDir.toString());
        return parse(r.output());
    }

    /** {@code PG_CONTROL_VERSION} of PostgreSQL 15. */
    static final int PG15_CONTROL_VERSION = 1300;

    /**
     * The latest checkpoint's location straight from {@code global/pg_control} (a switchover reads it in the write
     * outage, where running pg_controldata costs tens of milliseconds); falls back to pg_controldata when the file
     * is not PostgreSQL 15's layout (system identifier at 0, version at 8, checkPoint at 32, little-endian).
     */
    public static zgres.api.Lsn checkpointLsn(PgTools tools, java.nio.file.Path dataDir) throws IOException {
        try {
            byte[] b = java.nio.file.Files.readAllBytes(dataDir.resolve("global").resolve("pg_control"));
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            if (b.length >= 40 && buf.getInt(8) == PG15_CONTROL_VERSION
                    && java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.LITTLE_ENDIAN) {
                return zgres.api.Lsn.of(buf.getLong(32));
            }
        } catch (IOException e) {
            // not readable by this user: ask pg_controldata
        }
        return read(tools, dataDir).checkpointLsn();
    }

    static ControlData parse(String output) throws IOException {
        Map<String, String> m = new HashMap<>();
        for (String line : output.split("\n")) {
            int c = line.indexOf(':');
            if (c > 0) {
                m.put(line.substring(0, c).trim(), line.substring(c + 1).trim());
            }
        }
        String id = m.get("Database system identifier");
        String state = m.get("Database cluster state");
        String tli = m.get("Latest checkpoint's TimeLineID");
        if (id == null || state == null || tli == null) {
            throw new IOException("unexpected pg_controldata output: " + output.strip());
        }
        String minTli = m.getOrDefault("Min recovery ending loc's timeline", "0");
        String ckpt = m.get("Latest checkpoint location");
        return new ControlData(id, state, Integer.parseInt(tli), Integer.parseInt(minTli),
                ckpt == null ? zgres.api.Lsn.ZERO : zgres.api.Lsn.parse(ckpt));
    }
}
