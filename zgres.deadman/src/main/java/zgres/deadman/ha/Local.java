package zgres.deadman.ha;

import java.util.Optional;

import zgres.api.Lsn;
import zgres.deadman.pg.ControlData;
import zgres.deadman.pg.PgStatus;

/**
 * The local PostgreSQL as the deadman saw it at the start of a cycle.
 *
 * @param dataDir state of the data directory
 * @param running our supervisor's postmaster runs
 * @param status the health check (when running)
 * @param control pg_controldata (when the cluster exists and does not run)
 * @param standbySignal standby.signal exists
 * @param configuredUpstream host:port of primary_conninfo (running standby), or empty
 * @param downForMs how long PostgreSQL has been down while this node held the lock (0 when not)
 * @param notStreamingForMs how long a running standby with an upstream has not been streaming (0 when streaming)
 * @param failedStarts consecutive starts after which PostgreSQL never accepted connections (it exited, or is stuck
 *        starting up for longer than the start timeout)
 * @param failsafeWaitMs with the failsafe on: how long this standby must still wait, not hearing from its upstream,
 *        before it may take the lock (0: it may)
 * @param failsafeHolding the failsafe keeps this (primary) PostgreSQL writable without a lease
 */
public record Local(DataDir dataDir, boolean running, PgStatus status, Optional<ControlData> control,
        boolean standbySignal, String configuredUpstream, long downForMs, long notStreamingForMs, int failedStarts,
        long failsafeWaitMs, boolean failsafeHolding) {

    public Local(DataDir dataDir, boolean running, PgStatus status, Optional<ControlData> control,
            boolean standbySignal, String configuredUpstream, long downForMs, long notStreamingForMs,
            int failedStarts) {
        this(dataDir, running, status, control, standbySignal, configuredUpstream, downForMs, notStreamingForMs,
                failedStarts, 0, false);
    }

    public Local(DataDir dataDir, boolean running, PgStatus status, Optional<ControlData> control,
            boolean standbySignal, String configuredUpstream, long downForMs, long notStreamingForMs) {
        this(dataDir, running, status, control, standbySignal, configuredUpstream, downForMs, notStreamingForMs, 0);
    }

    public enum DataDir {
        EMPTY, CLUSTER, GARBAGE
    }

    /** @return the system identifier from the running server or from pg_control, or empty */
    public String systemId() {
        if (status.reachable() && !status.systemId().isEmpty()) {
            return status.systemId();
        }
        return control.map(ControlData::systemId).orElse("");
    }

    public int timeline() {
        if (status.reachable()) {
            return status.timeline();
        }
        return control.map(ControlData::timeline).orElse(0);
    }

    /** @return the timeline the data files are on (see {@link PgStatus#dataTimeline()}) */
    public int dataTimeline() {
        if (status.reachable()) {
            return status.dataTimeline();
        }
        return control.map(ControlData::dataTimeline).orElse(0);
    }

    /** @return running and answering as a primary */
    public boolean primary() {
        return running && status.reachable() && !status.inRecovery();
    }

    /** @return running and answering as a standby */
    public boolean standby() {
        return running && status.reachable() && status.inRecovery();
    }

    public Lsn lsn() {
        return status.bestLsn();
    }
}
