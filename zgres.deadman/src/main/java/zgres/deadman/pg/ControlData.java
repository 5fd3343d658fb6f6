package zgres.deadman.pg;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import zgres.process.Exec;

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
        long[] sc = stateAndCheckpoint(dataDir);
        return sc != null ? zgres.api.Lsn.of(sc[1]) : read(tools, dataDir).checkpointLsn();
    }

    /** {@code DB_SHUTDOWNED} of PostgreSQL 15's {@code DBState}: written by the shutdown checkpoint. */
    static final int DB_SHUTDOWNED = 1;

    /**
     * The shutdown checkpoint of a primary that is stopping: PostgreSQL writes {@code DB_SHUTDOWNED} and the
     * checkpoint's location into {@code global/pg_control} once every backend has exited and the shutdown checkpoint
     * is on disk, before its WAL senders finish sending and the postmaster exits. From then on nothing can commit.
     *
     * @return the shutdown checkpoint's location when pg_control says the cluster is shut down, read twice alike;
     *         empty otherwise (running, another layout, unreadable)
     */
    public static java.util.Optional<zgres.api.Lsn> shutdownCheckpoint(java.nio.file.Path dataDir) {
        long[] first = stateAndCheckpoint(dataDir);
        long[] second = stateAndCheckpoint(dataDir);
        if (first == null || second == null || first[0] != DB_SHUTDOWNED || first[0] != second[0]
                || first[1] != second[1]) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(zgres.api.Lsn.of(first[1]));
    }

    /**
     * @return {state, checkPoint} straight from {@code global/pg_control} in PostgreSQL 15's layout (version at 8,
     *         state at 16, checkPoint at 32, little-endian), or null when the file is not readable or not that layout
     */
    private static long[] stateAndCheckpoint(java.nio.file.Path dataDir) {
        try {
            byte[] b = java.nio.file.Files.readAllBytes(dataDir.resolve("global").resolve("pg_control"));
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            if (b.length < 40 || buf.getInt(8) != PG15_CONTROL_VERSION
                    || java.nio.ByteOrder.nativeOrder() != java.nio.ByteOrder.LITTLE_ENDIAN) {
                return null;
            }
            return new long[] {buf.getInt(16), buf.getLong(32)};
        } catch (IOException e) {
            return null; // not readable by this user
        }
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
