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

    /**
     * The replication keepalives the failsafe rests on: while it is on, a standby pings its master after half of
     * {@code wal_receiver_timeout} of silence and its walreceiver exits after all of it ({@code Failsafe}); set on
     * every node (ALTER SYSTEM, reload), checked every 10 s and at once when the failsafe is switched. When it is off,
     * only the value this set is taken back (ALTER SYSTEM RESET): an operator's own setting stays.
     */
    private void keepalives() throws java.sql.SQLException {
        boolean on = failsafe.getAsBoolean();
        long want = on ? zgres.deadman.lease.Failsafe.RECEIVER_TIMEOUT_MS : 0;
        long now = System.nanoTime();
        if (want == receiverTimeoutSet && now - receiverCheckedAt < java.util.concurrent.TimeUnit.SECONDS.toNanos(10)) {
            return;
        }
        receiverCheckedAt = now;
        java.util.List<java.util.List<String>> rows = pg.jdbc().query("SELECT setting, coalesce(sourcefile, '') FROM "
                + "pg_settings WHERE name = 'wal_receiver_timeout'", 5);
        String have = rows.get(0).get(0);
        boolean ours = rows.get(0).get(1).endsWith("postgresql.auto.conf")
                && Long.toString(zgres.deadman.lease.Failsafe.RECEIVER_TIMEOUT_MS).equals(have);
        if (on && !Long.toString(want).equals(have)) {
            pg.jdbc().execute("ALTER SYSTEM SET wal_receiver_timeout = '" + want + "ms'", 10);
            pg.jdbc().execute("SELECT pg_reload_conf()", 10);
            LOG.info("[{}] wal_receiver_timeout {} -> {} ms (failsafe on: a standby hears from its master at least "
                    + "every {} ms)", name, have, want, want / 2);
        } else if (!on && ours) {
            pg.jdbc().execute("ALTER SYSTEM RESET wal_receiver_timeout", 10);
            pg.jdbc().execute("SELECT pg_reload_conf()", 10);
            LOG.info("[{}] wal_receiver_timeout back to the configuration file's (failsafe off)", name);
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
