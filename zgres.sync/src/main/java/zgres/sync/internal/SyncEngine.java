package zgres.sync.internal;

import java.io.Closeable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.api.sync.SyncPlugin;
import zgres.api.sync.SyncStatus;

/**
 * Delivers snapshots to plugins: each change is debounced briefly, then handed to every plugin on a thread of its
 * own. A plugin always gets the newest snapshot (intermediate ones are skipped, never an old one after a new one);
 * one that throws is retried with exponential backoff and never holds up the others. A plugin added later gets the
 * current snapshot at once; every plugin gets the current snapshot again every resync interval.
 */
public final class SyncEngine implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(SyncEngine.class);

    /** What one plugin has done, for the shell and for tests. */
    public record PluginStatus(String name, long appliedSequence, Instant appliedAt, long applied, long failures,
            String lastError) {
        SyncStatus.Plugin toApi() {
            return new SyncStatus.Plugin(name, appliedSequence, appliedAt, applied, failures, lastError);
        }
    }

    private volatile long debounceMs;
    private volatile long resyncMs;
    private volatile long maxBackoffMs;
    private ScheduledFuture<?> resync;
    private final ScheduledExecutorService timer;
    private final Map<SyncPlugin, Worker> workers = new ConcurrentHashMap<>();
    private final AtomicReference<ClusterSnapshot> latest = new AtomicReference<>();
    private ScheduledFuture<?> pending;
    private volatile boolean closed;

    public SyncEngine(long debounceMs, long resyncMs, long maxBackoffMs) {
        this.debounceMs = debounceMs;
        this.resyncMs = resyncMs;
        this.maxBackoffMs = maxBackoffMs;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "zgres-sync-timer");
            t.setDaemon(true);
            return t;
        });
        scheduleResync();
    }

    private synchronized void scheduleResync() {
        if (resync != null) {
            resync.cancel(false);
            resync = null;
        }
        if (resyncMs > 0 && !closed) {
            resync = timer.scheduleWithFixedDelay(this::deliver, resyncMs, resyncMs, TimeUnit.MILLISECONDS);
        }
    }

    /** New timings, live: plugins, their threads and the current snapshot are kept. */
    public synchronized void reconfigure(long debounceMs, long resyncMs, long maxBackoffMs) {
        this.debounceMs = debounceMs;
        this.maxBackoffMs = maxBackoffMs;
        if (resyncMs != this.resyncMs) {
            this.resyncMs = resyncMs;
            scheduleResync();
        }
    }

    /** A new snapshot: delivered after the debounce delay (changes within it are coalesced). */
    public synchronized void offer(ClusterSnapshot s) {
        latest.set(s);
        if (closed || (pending != null && !pending.isDone())) {
            return;
        }
        pending = timer.schedule(this::deliver, debounceMs, TimeUnit.MILLISECONDS);
    }

    /** Delivers the current snapshot to every plugin again now. */
    public void resync() {
        deliver();
    }

    private void deliver() {
        ClusterSnapshot s = latest.get();
        if (s == null) {
            return;
        }
        for (Worker w : workers.values()) {
            w.offer(s);
        }
    }

    /** Adds a plugin; it gets the current snapshot at once. */
    public void add(SyncPlugin plugin, String name) {
        Worker w = new Worker(plugin, name);
        Worker old = workers.put(plugin, w);
        if (old != null) {
            old.close();
        }
        ClusterSnapshot s = latest.get();
        if (s != null) {
            w.offer(s);
        }
        LOG.info("sync plugin '{}' added", name);
    }

    public void remove(SyncPlugin plugin) {
        Worker w = workers.remove(plugin);
        if (w != null) {
            w.close();
            LOG.info("sync plugin '{}' removed", w.name);
        }
    }

    public List<PluginStatus> status() {
        List<PluginStatus> r = new ArrayList<>();
        for (Worker w : workers.values()) {
            r.add(w.status());
        }
        r.sort((a, b) -> a.name().compareTo(b.name()));
        return r;
    }

    @Override
    public void close() {
        closed = true;
        timer.shutdownNow();
        workers.values().forEach(Worker::close);
        workers.clear();
    }

    private final class Worker implements Runnable {
        final SyncPlugin plugin;
        final String name;
        final Thread thread;
        private ClusterSnapshot next;
        private volatile boolean stopped;
        private volatile long appliedSequence = -1;
        private volatile Instant appliedAt = Instant.EPOCH;
        private volatile long applied;
        private volatile long failures;
        private volatile String lastError = "";

        Worker(SyncPlugin plugin, String name) {
            this.plugin = plugin;
            this.name = name;
            this.thread = new Thread(this, "zgres-sync-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        synchronized void offer(ClusterSnapshot s) {
            next = s;
            notifyAll();
        }

        PluginStatus status() {
            return new PluginStatus(name, appliedSequence, appliedAt, applied, failures, lastError);
        }

        private synchronized ClusterSnapshot take(long waitMs) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
            while (next == null && !stopped) {
                long left = deadline - System.nanoTime();
                if (waitMs > 0 && left <= 0) {
                    return null;
                }
                if (waitMs > 0) {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } else {
                    wait();
                }
            }
            ClusterSnapshot s = next;
            next = null;
            return s;
        }

        @Override
        public void run() {
            long backoff = 0;
            ClusterSnapshot retry = null;
            while (!stopped) {
                ClusterSnapshot s;
                try {
                    s = retry == null ? take(0) : take(backoff);
                } catch (InterruptedException e) {
                    return;
                }
                if (s == null) {
                    s = retry; // backoff elapsed without a newer snapshot: retry the one that failed
                }
                if (s == null || stopped) {
                    continue;
                }
                try {
                    plugin.apply(s);
                    appliedSequence = s.sequence();
                    appliedAt = Instant.now();
                    applied++;
                    if (retry != null) {
                        LOG.info("sync plugin '{}' applied snapshot #{} after {} failure(s)", name, s.sequence(),
                                failures);
                    }
                    retry = null;
                    backoff = 0;
                } catch (Throwable e) {
                    failures++;
                    lastError = e.toString();
                    backoff = backoff == 0 ? 100 : Math.min(maxBackoffMs, backoff * 2);
                    retry = s;
                    LOG.error("sync plugin '{}' failed to apply snapshot #{}: {}; retrying in {} ms", name,
                            s.sequence(), e.toString(), backoff);
                }
            }
        }

        void close() {
            stopped = true;
            synchronized (this) {
                notifyAll();
            }
            thread.interrupt();
        }
    }
}
