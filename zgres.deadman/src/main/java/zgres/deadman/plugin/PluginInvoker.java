package zgres.deadman.plugin;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.deadman.HealthVeto;
import zgres.api.deadman.MetadataProvider;
import zgres.api.deadman.NodeContext;

/**
 * Calls the deadman's plugins (health vetoes, metadata providers) with a time limit. Each plugin has one thread of
 * its own: a call still running from an earlier cycle is never started again (a veto that hangs counts as a veto, a
 * provider that hangs keeps its last metadata), and a call past the limit is cancelled (interrupted). A plugin that
 * goes away takes its thread with it. So a hung plugin costs one thread, never one per cycle.
 */
public final class PluginInvoker implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(PluginInvoker.class);

    /** What the plugins said in one cycle. */
    public record Result(List<String> problems, Map<String, Object> metadata) {
        public static final Result NONE = new Result(List.of(), Map.of());
    }

    private final String name;
    private final Supplier<List<HealthVeto>> vetoes;
    private final Supplier<List<MetadataProvider>> providers;
    private final long timeoutMs;
    private final Map<Object, Worker> workers = new IdentityHashMap<>();

    /** One plugin's thread and its call in flight. */
    private static final class Worker {
        final ExecutorService thread;
        Future<?> inFlight;
        long startedAt;
        Map<String, Object> lastMetadata = Map.of();

        Worker(String threadName) {
            thread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, threadName);
                t.setDaemon(true);
                return t;
            });
        }
    }

    public PluginInvoker(String name, Supplier<List<HealthVeto>> vetoes, Supplier<List<MetadataProvider>> providers,
            long timeoutMs) {
        this.name = name;
        this.vetoes = vetoes;
        this.providers = providers;
        this.timeoutMs = timeoutMs;
    }

    /** Asks every plugin about {@code node}; takes at most the time limit per plugin. */
    public synchronized Result call(NodeContext node) {
        List<HealthVeto> vs = vetoes.get();
        List<MetadataProvider> ms = providers.get();
        forgetGone(vs, ms);
        List<String> problems = new ArrayList<>();
        for (HealthVeto v : vs) {
            String who = v.getClass().getSimpleName();
            Worker w = worker(v, "zgres-veto-" + who);
            Optional<Object> r = run(w, () -> v.check(node));
            if (r.isEmpty()) {
                problems.add("health veto " + who + " did not answer within " + timeoutMs + " ms");
            } else if (r.get() instanceof Exception e) {
                problems.add("health veto " + who + " failed: " + e);
            } else if (r.get() instanceof Optional<?> o && o.isPresent()) {
                problems.add("vetoed by " + who + ": " + o.get());
            }
        }
        Map<String, Object> md = new LinkedHashMap<>();
        for (MetadataProvider m : ms) {
            String who = m.getClass().getSimpleName();
            Worker w = worker(m, "zgres-metadata-" + who);
            Optional<Object> r = run(w, () -> m.metadata(node));
            if (r.isPresent() && r.get() instanceof Map<?, ?> map) {
                Map<String, Object> clean = new LinkedHashMap<>();
                map.forEach((k, val) -> {
                    if (k instanceof String key && (val instanceof String || val instanceof Number
                            || val instanceof Boolean)) {
                        clean.put(key, val);
                    }
                });
                w.lastMetadata = Map.copyOf(clean);
            } else if (r.isPresent() && r.get() instanceof Exception e) {
                LOG.warn("[{}] metadata provider {} failed: {}", name, who, e.toString());
            }
            md.putAll(w.lastMetadata);
        }
        return new Result(List.copyOf(problems), Map.copyOf(md));
    }

    /**
     * @return the call's result (an Exception when it threw; empty when it did not finish in time or an earlier call
     *         still runs)
     */
    private Optional<Object> run(Worker w, java.util.concurrent.Callable<Object> call) {
        if (w.inFlight != null && !w.inFlight.isDone()) {
            return Optional.empty(); // still busy with an earlier cycle's call: not started again
        }
        Future<Object> f = w.thread.submit(call);
        w.inFlight = f;
        w.startedAt = System.nanoTime();
        try {
            Object r = f.get(timeoutMs, TimeUnit.MILLISECONDS);
            return Optional.of(r == null ? Optional.empty() : r);
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            return Optional.empty();
        } catch (java.util.concurrent.ExecutionException e) {
            return Optional.of(e.getCause() instanceof Exception x ? x : new RuntimeException(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private Worker worker(Object plugin, String threadName) {
        return workers.computeIfAbsent(plugin, p -> new Worker(threadName));
    }

    private void forgetGone(List<HealthVeto> vs, List<MetadataProvider> ms) {
        Set<Object> present = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        present.addAll(vs);
        present.addAll(ms);
        workers.entrySet().removeIf(e -> {
            if (!present.contains(e.getKey())) {
                e.getValue().thread.shutdownNow();
                return true;
            }
            return false;
        });
    }

    /** @return how many plugin threads exist (tests: never more than one per plugin) */
    public synchronized int threads() {
        return workers.size();
    }

    @Override
    public synchronized void close() {
        workers.values().forEach(w -> w.thread.shutdownNow());
        workers.clear();
    }
}
