package zgres.deadman.action;

import java.io.Closeable;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.deadman.ha.Observation;

/**
 * Runs one long action at a time off the deadman's loop (initdb, pg_basebackup with its six-hour limit, pg_rewind),
 * the way Patroni's async executor does: the loop keeps observing, deciding and publishing, and says "... in
 * progress" meanwhile; the action wakes it when it ends. Closing interrupts the action (the programs it runs are
 * killed).
 */
public final class LongActions implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LongActions.class);

    /** A step of a long action; it may throw (logged, then the loop decides again). */
    @FunctionalInterface
    public interface Step {
        void run() throws Exception;
    }

    private record Running(String what, long startedNanos, Thread thread) {}

    private final String name;
    private final Runnable onDone;
    private final AtomicReference<Running> running = new AtomicReference<>();

    /** @param onDone called when an action ends (the loop wakes up) */
    public LongActions(String name, Runnable onDone) {
        this.name = name;
        this.onDone = onDone;
    }

    /**
     * Starts {@code action} in the background.
     *
     * @return false when another action still runs (nothing is started)
     */
    public synchronized boolean start(String what, Step action) {
        if (running.get() != null) {
            return false;
        }
        Thread t = new Thread(() -> {
            long t0 = System.nanoTime();
            try {
                action.run();
                LOG.info("[{}] {} done in {} ms", name, what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            } catch (InterruptedException e) {
                LOG.warn("[{}] {} interrupted", name, what);
            } catch (Exception e) {
                LOG.warn("[{}] {} failed after {} ms: {}", name, what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime()
                        - t0), e.getMessage());
            } finally {
                running.set(null);
                onDone.run();
            }
        }, "zgres-action-" + name);
        t.setDaemon(true);
        running.set(new Running(what, System.nanoTime(), t));
        t.start();
        return true;
    }

    /** @return the action in progress, for the observation */
    public Optional<Observation.LongAction> inProgress() {
        Running r = running.get();
        return r == null ? Optional.empty() : Optional.of(new Observation.LongAction(r.what(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - r.startedNanos())));
    }

    /** Interrupts the action in progress and waits for it (up to 30 s). */
    @Override
    public void close() {
        Running r = running.get();
        if (r != null) {
            r.thread().interrupt();
            try {
                r.thread().join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
