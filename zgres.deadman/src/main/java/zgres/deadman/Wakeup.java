package zgres.deadman;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The loop's sleep between cycles, cut short by anything that should be looked at now: a new snapshot of the tree, a
 * change of the ZooKeeper connection, PostgreSQL exiting or being fenced, new settings. A wake-up that comes while the
 * loop is busy is remembered: the next sleep returns at once.
 */
final class Wakeup {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private boolean woken;

    void wakeUp() {
        lock.lock();
        try {
            woken = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Sleeps up to {@code ms}, until woken, or until {@code running} turns false. */
    void sleep(long ms, BooleanSupplier running) throws InterruptedException {
        lock.lock();
        try {
            long nanos = TimeUnit.MILLISECONDS.toNanos(ms);
            while (!woken && nanos > 0 && running.getAsBoolean()) {
                nanos = wake.awaitNanos(nanos);
            }
            woken = false;
        } finally {
            lock.unlock();
        }
    }
}
