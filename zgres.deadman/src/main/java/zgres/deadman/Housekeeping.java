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
    private String lastFailure = "";

    Housekeeping(String name, PgNode pg, SlotKeeper slots, WalArchiving archiving) {
        this.name = name;
        this.pg = pg;
        this.slots = slots;
        this.archiving = archiving;
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
