package zgres.deadman;

import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.deadman.archive.WalArchiving;
import zgres.deadman.ha.LockOwner;
import zgres.deadman.ha.Observation;
import zgres.deadman.pg.PgNode;
import zgres.deadman.slots.SlotKeeper;

/**
 * What a running PostgreSQL needs kept after each decision, beside it: the WAL archive's settings, and the group's
 * replication slots (kept by the master, checked by a standby). Never while a long action runs; a failure is logged
 * once (until it changes or clears) and never stops the loop.
 */
final class Housekeeping {
    private static final Logger LOG = LoggerFactory.getLogger(Housekeeping.class);

    private final String name;
    private final PgNode pg;
    private final SlotKeeper slots;
    private final WalArchiving archiving;
    private final java.util.function.BooleanSupplier failsafe;
    private String lastFailure = "";
    private long receiverTimeoutSet = -1;
    private long receiverCheckedAt;

    Housekeeping(String name, PgNode pg, SlotKeeper slots, WalArchiving archiving,
            java.util.function.BooleanSupplier failsafe) {
        this.name = name;
        this.pg = pg;
        this.slots = slots;
        this.archiving = archiving;
        this.failsafe = failsafe;
    }

    /** {@code wal_receiver_timeout} without the failsafe (as written at initdb) */
    static final long RECEIVER_TIMEOUT_MS = 15_000;

    /**
     * The replication keepalives the failsafe rests on: a standby pings its master after half of
     * {@code wal_receiver_timeout} of silence, and its walreceiver exits after all of it ({@code Failsafe}); set on
     * every node (ALTER SYSTEM, reload), checked every 10 s and at once when the failsafe is switched.
     */
    private void keepalives() throws java.sql.SQLException {
        long want = failsafe.getAsBoolean() ? zgres.deadman.lease.Failsafe.RECEIVER_TIMEOUT_MS : RECEIVER_TIMEOUT_MS;
        long now = System.nanoTime();
        if (want == receiverTimeoutSet && now - receiverCheckedAt < java.util.concurrent.TimeUnit.SECONDS.toNanos(10)) {
            return;
        }
        receiverCheckedAt = now;
        String have = pg.jdbc().queryOne("SELECT setting FROM pg_settings WHERE name = 'wal_receiver_timeout'", 5);
        if (!Long.toString(want).equals(have)) {
            pg.jdbc().execute("ALTER SYSTEM SET wal_receiver_timeout = '" + want + "ms'", 10);
            pg.jdbc().execute("SELECT pg_reload_conf()", 10);
            LOG.info("[{}] wal_receiver_timeout {} -> {} ms ({})", name, have, want, failsafe.getAsBoolean()
                    ? "failsafe on: a standby hears from its master at least every " + want / 2 + " ms"
                    : "failsafe off");
        }
        receiverTimeoutSet = want;
    }

    void run(Observation o, boolean longActionRuns) {
        if (!o.local().running() || !o.local().status().reachable() || longActionRuns) {
            return;
        }
        String failure = "";
        try {
            Optional<Long> pid = pg.supervisor().map(s -> s.postmasterPid());
            if (pid.isPresent()) {
                archiving.whileRunning(pid.get());
            }
        } catch (java.sql.SQLException | RuntimeException e) {
            failure = "WAL archive settings: " + e.getMessage();
        }
        try {
            keepalives();
            if (o.lock() == LockOwner.MINE && o.local().primary()) {
                slots.onMaster(o.group());
            } else if (o.local().standby()) {
                slots.onStandby();
            }
        } catch (java.sql.SQLException | RuntimeException e) {
            failure += (failure.isEmpty() ? "" : "; ") + "replication slots: " + e.getMessage();
        }
        if (!failure.equals(lastFailure)) {
            if (failure.isEmpty()) {
                LOG.info("[{}] slots and archive settings kept again", name);
            } else {
                LOG.warn("[{}] {} (trying again every cycle)", name, failure);
            }
            lastFailure = failure;
        }
    }
}
