package zgres.deadman;

import java.io.Closeable;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ClusterSnapshot;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Switchover;
import zgres.api.deadman.HealthVeto;
import zgres.api.deadman.MetadataProvider;
import zgres.deadman.action.LongActions;
import zgres.deadman.ha.Action;
import zgres.deadman.ha.Decider;
import zgres.deadman.ha.Decision;
import zgres.deadman.ha.LockOwner;
import zgres.deadman.ha.Observation;
import zgres.deadman.ha.Situation;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.pg.PgNode;
import zgres.deadman.plugin.LocalNode;
import zgres.deadman.plugin.PluginInvoker;
import zgres.deadman.promote.Promoter;
import zgres.deadman.provision.Provisioner;
import zgres.deadman.publish.StatePublisher;
import zgres.deadman.publish.StateView;
import zgres.deadman.switchover.SwitchoverCoordinator;
import zgres.deadman.sync.SyncReplication;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.ZkPaths;

/**
 * One deadman: keeps a local PostgreSQL cluster in its right role. One loop thread observes ({@link Observer}),
 * decides ({@link Decider}, pure) and acts through its collaborators, each owning its ZooKeeper paths: the
 * {@link LeaseKeeper} ({@code /lock}: the lease and the dead man's switch, on a thread of its own), the
 * {@link StatePublisher} ({@code /state}, {@code /conn}), the {@link Provisioner} (initdb, pg_basebackup,
 * {@code /static/*-db-id}), the {@link Promoter} (timeline, {@code /history}), the {@link SwitchoverCoordinator}
 * ({@code /switchover}) and {@link SyncReplication} ({@code /sync}). Long actions run off the loop
 * ({@link LongActions}); plugins are called with a time limit ({@link PluginInvoker}). The safety argument is in
 * {@link LeaseKeeper}.
 */
public final class Deadman implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Deadman.class);

    public enum State {
        LATENT, STARTED, CLOSED
    }

    private final DeadmanSettings settings;
    private final NodeId me;
    private final String name;
    private final CuratorFramework client;
    private final ClusterCache cache;
    private final PgNode pg;
    private final Supplier<Map<String, String>> plugins;
    private final zgres.deadman.provision.Cloner cloner;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final Wakeup wakeup = new Wakeup();
    private final Thread loop;
    private final Consumer<ClusterSnapshot> cacheListener = s -> wakeUp();

    private final LeaseKeeper lease;
    private final StatePublisher publisher;
    private final LongActions actions;
    private final PluginInvoker invoker;
    private final SwitchoverCoordinator switchovers;
    private final SyncReplication sync;
    private final zgres.deadman.slots.SlotKeeper slots;
    private final Housekeeping housekeeping;
    private final zgres.deadman.lease.Failsafe failsafe;
    private final Observer observer;
    private final ActionRunner runner;

    private volatile DeadmanSettings live;
    private volatile boolean connected;
    private volatile String lastDecision = "";
    /** what PostgreSQL is going through as far as this deadman knows (actions and the supervisor set it) */
    private final AtomicReference<NodePhase> phase = new AtomicReference<>(NodePhase.STARTING);

    // loop-thread state
    private String lastLogKey = "";
    private final List<String> transientProblems = new ArrayList<>();
    private PluginInvoker.Result plugged = PluginInvoker.Result.NONE;

    public Deadman(DeadmanSettings settings, CuratorFramework client, ZkPaths paths, ClusterCache cache, PgNode pg,
            Extensions extensions) {
        this.settings = settings;
        this.live = settings;
        this.me = settings.id();
        this.name = me.toString();
        this.client = client;
        this.cache = cache;
        this.pg = pg;
        this.plugins = extensions.bundles();
        Consumer<NodePhase> phases = phase::set;
        this.metrics = new DeadmanMetrics(me, new DeadmanMetrics.Facts() {
            @Override
            public Optional<zgres.api.NodeState> published() {
                return publisher.published();
            }

            @Override
            public Optional<zgres.deadman.lease.LeaseKeeper.Lease> lease() {
                return lease.current();
            }

            @Override
            public Optional<zgres.api.GroupState> group() {
                return cache.snapshot().group(me.group());
            }

            @Override
            public boolean zookeeperConnected() {
                return client.getZookeeperClient().isConnected();
            }

            @Override
            public long sessionTimeoutMs() {
                return live.sessionTimeoutMs();
            }

            @Override
            public long lastCycleAgeMs() {
                return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastCycleAt);
            }
        });
        this.lease = new LeaseKeeper(client, paths, me, settings.sessionTimeoutMs(), settings.leaseMarginMs(),
                new LeaseKeeper.DeadMansSwitch() {
                    @Override
                    public void keepalive(long deadlineNanos) {
                        pg.keepaliveIfArmed(deadlineNanos);
                    }

                    @Override
                    public void fence(String reason) {
                        metrics.fenced();
                        pg.fenceIfArmed(reason);
                    }
                }, this::wakeUp);
        this.publisher = new StatePublisher(client, paths, me);
        this.actions = new LongActions(name, this::wakeUp);
        this.invoker = new PluginInvoker(name, extensions.vetoes(), extensions.metadata(), 2000);
        this.cloner = new zgres.deadman.provision.Cloner(name, pg, extensions.cloneMethods(),
                () -> live.cloneMethods());
        Promoter promoter = new Promoter(client, paths, me, pg, lease, phases);
        promoter.historyLimit(() -> live.historyLimit());
        promoter.onPromoted(metrics::promoted);
        Provisioner provisioner = new Provisioner(client, paths, me, pg, lease, actions, promoter, cloner,
                phases);
        this.switchovers = new SwitchoverCoordinator(client, paths, me, pg, lease, publisher, phases);
        this.sync = new SyncReplication(client, paths, me, pg, lease);
        this.observer = new Observer(me, cache, client, paths, lease, pg, sync, switchovers);
        this.failsafe = new zgres.deadman.lease.Failsafe(me, pg, lease, () -> live.policy().failsafe(),
                () -> cache.snapshot().group(me.group()), () -> live.policy().syncMode());
        observer.failsafe(failsafe);
        this.slots = new zgres.deadman.slots.SlotKeeper(me, pg, () -> live.slots());
        pg.primarySlot(slots::slotName);
        zgres.deadman.archive.WalArchiving archiving = new zgres.deadman.archive.WalArchiving(name, pg,
                extensions.archives(), () -> live.walArchive());
        pg.beforeStart(archiving::beforeStart);
        this.housekeeping = new Housekeeping(name, pg, slots, archiving, () -> live.policy().failsafe());
        this.runner = new ActionRunner(me, pg, lease, publisher, actions, promoter, provisioner, switchovers, sync,
                slots, observer, phase, () -> live.policy(), new ActionRunner.Loop() {
                    @Override
                    public void publishNow() {
                        Deadman.this.publishNow();
                    }

                    @Override
                    public void wakeUp() {
                        Deadman.this.wakeUp();
                    }
                });
        this.loop = new Thread(this::run, "zgres-deadman-" + name);
    }

    public NodeId id() {
        return me;
    }

    public State state() {
        return state.get();
    }

    /** @return the last decision, for the shell and tests */
    public String lastDecision() {
        return lastDecision;
    }

    /** @return true while this deadman holds its group's lock with a valid lease */
    public boolean isMaster() {
        return lease.valid();
    }

    public long sessionId() {
        return lease.sessionId();
    }

    /** @return the ZooKeeper session id of this deadman's client (tests: live changes keep it) */
    public long zookeeperSessionId() {
        return sessionId();
    }

    /**
     * Takes new settings live (policy, tags, intervals, synchronous mode): the session and the lock are kept.
     *
     * @return the settings that changed but only take effect at the next start (session timeout, lease margin)
     * @throws IllegalArgumentException when the identity or the data directory would change
     */
    public List<String> update(DeadmanSettings s) {
        if (!s.id().equals(settings.id()) || !s.dataDir().equals(settings.dataDir())) {
            throw new IllegalArgumentException("group, host, port and data_dir cannot change while running (they are "
                    + settings.id() + " in " + settings.dataDir() + ")");
        }
        List<String> later = new ArrayList<>();
        if (s.sessionTimeoutMs() != settings.sessionTimeoutMs()) {
            later.add("session_timeout_ms " + settings.sessionTimeoutMs() + " -> " + s.sessionTimeoutMs());
        }
        if (s.leaseMarginMs() != settings.leaseMarginMs()) {
            later.add("lease_margin_ms " + settings.leaseMarginMs() + " -> " + s.leaseMarginMs());
        }
        live = s;
        wakeUp();
        return later;
    }

    /** @return the settings in effect (tests) */
    public DeadmanSettings liveSettings() {
        return live;
    }

    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("cannot start a " + state.get() + " deadman");
        }
        client.getConnectionStateListenable().addListener((c, newState) -> onConnectionState(newState));
        client.start();
        cache.addListener(cacheListener);
        lease.start();
        failsafe.start();
        loop.start();
        LOG.info("[{}] deadman started (data {}, ZooKeeper session timeout {} ms)", name, settings.dataDir(),
                settings.sessionTimeoutMs());
    }

    // ------------------------------------------------------------------ events

    private void onConnectionState(ConnectionState s) {
        switch (s) {
            case CONNECTED, RECONNECTED -> {
                connected = true;
                LOG.info("[{}] ZooKeeper {} (session 0x{})", name, s.name().toLowerCase(),
                        Long.toHexString(sessionId()));
            }
            case SUSPENDED -> {
                connected = false;
                LOG.warn("[{}] ZooKeeper connection suspended: not master until a lease renewal succeeds", name);
            }
            case LOST -> connected = false; // the lease keeper fences
            default -> {
                // READ_ONLY is not used
            }
        }
        wakeUp();
    }

    private void wakeUp() {
        wakeup.wakeUp();
    }

    // ------------------------------------------------------------------ the loop

    private String lastCycleFault = "";

    /**
     * Without ZooKeeper a cycle's write fails: an expected fault, one WARN line per kind of failure (the connection
     * listener already said what happens next); anything else is unexpected and gets its stack trace.
     */
    private void cycleFailed(Exception e) {
        Throwable t = e;
        while (t.getCause() != null && !(t instanceof org.apache.zookeeper.KeeperException)) {
            t = t.getCause();
        }
        if (t instanceof org.apache.zookeeper.KeeperException.ConnectionLossException
                || t instanceof org.apache.zookeeper.KeeperException.SessionExpiredException
                || t instanceof org.apache.zookeeper.KeeperException.OperationTimeoutException) {
            String kind = t.getClass().getSimpleName();
            if (!kind.equals(lastCycleFault)) {
                lastCycleFault = kind;
                LOG.warn("[{}] a cycle could not reach ZooKeeper ({}): trying again every cycle", name, kind);
            }
        } else {
            LOG.error("[{}] cycle failed: {}", name, e.toString(), e);
        }
        transientProblems.add("deadman error: " + e.getMessage());
    }

    private void run() {
        while (state.get() == State.STARTED) {
            long wait = live.loopWaitMs();
            try {
                wait = cycle();
            } catch (InterruptedException e) {
                break;
            } catch (Exception e) {
                cycleFailed(e);
            }
            try {
                if (wait > 0) {
                    wakeup.sleep(wait, () -> state.get() == State.STARTED);
                }
            } catch (InterruptedException e) {
                break;
            }
        }
    }

    private final DeadmanMetrics metrics;

    /** @return what this deadman measures (the runtime's /metrics) */
    public zgres.api.metrics.MetricSource metrics() {
        return out -> {
            metrics.collect(out);
            slots.collect(out);
            failsafe.collect(out);
        };
    }

    /** when the loop last decided ({@link System#nanoTime()}) */
    private volatile long lastCycleAt = System.nanoTime();

    /** @return what the HTTP health checks read */
    public zgres.deadman.http.HealthServer.Health health() {
        return new zgres.deadman.http.HealthServer.Health(publisher.published(), lease.valid(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastCycleAt), live.policy().maximumLagOnFailover());
    }

    /** One observe-decide-act cycle; returns how long to sleep (0: decide again at once). */
    long cycle() throws Exception {
        lastCycleAt = System.nanoTime();
        if (connected) {
            lastCycleFault = "";
        }
        Observation o = observe();
        Decision d = new Decider(live.policy()).decide(o);
        if (!stoppingToo.isEmpty() && (d.action() == Action.TAKE_LOCK || d.action() == Action.PROMOTE)
                && o.lock() != LockOwner.MINE) {
            d = Decision.of(Action.WAIT, Situation.RUNTIME_STOPPING, "this runtime is stopping: not taking the lock");
        }
        // the same situation is logged once, even when its numbers (ms, LSNs) move
        if (!d.logKey().equals(lastLogKey) || d.acts()) {
            lastLogKey = d.logKey();
            if (d.acts()) {
                LOG.warn("[{}] {}", name, d);
            } else {
                LOG.info("[{}] {}", name, d);
            }
        }
        lastDecision = d.toString();
        if (d.acts()) {
            metrics.decided(d.action());
            if (d.action() == Action.FENCE) {
                metrics.fenced();
            }
        }
        transientProblems.clear();
        // publish what we saw before acting: a crashed PostgreSQL loses its /conn even if it is back in a moment;
        // except before taking the lock or promoting, which publish themselves once done (a ZooKeeper write less on
        // the way to a writable master)
        // (a master retaking its lock under the failsafe publishes first: the lock is taken only by a session that
        // publishes our /state)
        if ((d.action() != Action.TAKE_LOCK || d.situation() == Situation.FAILSAFE_RETAKE)
                && d.action() != Action.PROMOTE) {
            publish(o);
        }
        if (runner.act(o, d)) {
            return 0; // the lock was just taken: decide again at once (the promotion publishes)
        }
        if (d.acts()) {
            publish(observe());
        }
        housekeeping.run(o, actions.inProgress().isPresent());
        boolean busy = o.lock() == LockOwner.NONE || d.acts() || d.situation() == Situation.STARTING_UP;
        return busy ? Math.min(100, live.loopWaitMs()) : live.loopWaitMs();
    }

    private Observation observe() throws IOException {
        return observer.observe(live, connected, new Observation.Self(plugged.problems(), actions.inProgress(),
                Optional.empty(), Optional.empty()));
    }

    /** Where the ensemble's tick time comes from (the lease's premise is checked against it). */
    public void tickSource(java.util.function.IntSupplier tickMs) {
        lease.tickSource(tickMs);
    }

    // ------------------------------------------------------------------ publishing

    private void publishNow() {
        try {
            publish(observe());
        } catch (Exception e) {
            LOG.debug("[{}] publish failed: {}", name, e.toString());
        }
    }

    private void publish(Observation o) {
        if (!connected) {
            return;
        }
        List<String> problems = new ArrayList<>(transientProblems);
        lease.premiseProblem().ifPresent(problems::add);
        o.self().rewind().ifPresent(r -> problems.add(r.unreachable() ? "pg_rewind could not reach "
                + r.source().address() : "pg_rewind from " + r.source().address() + " failed: " + r.message()));
        String refusal = runner.refusal();
        StateView.Facts facts = new StateView.Facts(phase.get(), refusal, problems);
        if (refusal.isEmpty() && o.local().running() && o.local().status().reachable()) {
            plugged = invoker.call(new LocalNode(me, StateView.role(o, facts), settings.dataDir(), pg.jdbc()::open));
        } else {
            plugged = new PluginInvoker.Result(List.of(), plugged.metadata());
        }
        Map<String, Object> metadata = plugged.metadata();
        String refused = runner.refusedRequest();
        Optional<String> built = cloner.builtBy();
        Map<String, Object> m = new java.util.LinkedHashMap<>(metadata);
        if (!refused.isEmpty()) {
            m.put("refused_request", refused);
        }
        built.ifPresent(b -> m.put("built_by", b));
        m.put("clone_methods", cloner.availability());
        if (live.policy().failsafe()) {
            m.put("failsafe", true); // a master extends its lease through a replica only if the replica says this
        }
        metadata = m;
        NodeState ns = StateView.state(o, facts, plugged.problems(), metadata, plugins.get(),
                live.policy().promotion());
        // positions go out at once while the lock is free (the election wants them), and from a master whose
        // published position a replica has already passed (a listing would show the master behind its replicas)
        Lsn publishedBest = publisher.published().map(NodeState::bestLsn).orElse(Lsn.ZERO);
        boolean masterBehindPeers = o.lock() == LockOwner.MINE && o.group().states().values().stream()
                .anyMatch(x -> !x.id().equals(me) && x.bestLsn().isAfter(publishedBest));
        publisher.publish(ns, StateView.conn(ns, settings.dbname()), live.stateIntervalMs(),
                o.lock() == LockOwner.NONE || masterBehindPeers);
        NodePhase p = phase.get();
        if (!o.local().running() && !p.busy() && p != NodePhase.FENCED && p != NodePhase.REFUSED) {
            phase.compareAndSet(p, NodePhase.STOPPED);
        }
    }

    // ------------------------------------------------------------------ stopping

    /** nodes of this runtime that stop with this one (see {@link #stoppingWith}) */
    private volatile java.util.Set<NodeId> stoppingToo = java.util.Set.of();

    /**
     * Nodes of this runtime that stop with this one (the runtime stops as a whole): never handed the lock; and none
     * of them takes it meanwhile.
     */
    public void stoppingWith(java.util.Set<NodeId> nodes) {
        stoppingToo = java.util.Set.copyOf(nodes);
    }

    /**
     * Stops cleanly: a master hands over (see {@link SwitchoverCoordinator#handOverOnStop}) or gives PostgreSQL a fast shutdown (which sends
     * all its WAL to connected standbys) while the lease is still renewed, then releases the lock at once so that
     * failover does not wait for the session to expire.
     */
    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) == State.CLOSED) {
            return;
        }
        wakeUp();
        loop.interrupt();
        try {
            loop.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        actions.close();
        failsafe.close();
        if (lease.current().isPresent() && pg.running()) {
            try {
                Observation o = observe();
                if (o.lock() == LockOwner.MINE && lease.valid()) {
                    switchovers.handOverOnStop(o, live.policy(), stoppingToo);
                }
            } catch (Exception e) {
                LOG.warn("[{}] stopping: could not hand over ({}): stopping PostgreSQL and releasing the lock", name,
                        e.toString());
            }
        }
        if (pg.running()) {
            LOG.warn("[{}] stopping: fast shutdown of PostgreSQL{}", name, lease.current().isPresent()
                    ? " (master: the lock is released right after)" : "");
            pg.stop("INT", 15_000);
        }
        // cut off, every ZooKeeper call would wait for a connection: skip them (the lock and this node's znodes are
        // ephemeral: they go with the session) and stop in moments
        boolean cutOff = !client.getZookeeperClient().isConnected();
        if (cutOff) {
            LOG.warn("[{}] stopping while cut off from ZooKeeper: not waiting for it (this node's znodes go with its "
                    + "session)", name);
        } else {
            lease.release("deadman stopped");
        }
        lease.close();
        if (!cutOff) {
            publisher.close();
        }
        cache.removeListener(cacheListener);
        invoker.close();
        pg.close();
        if (cutOff) {
            // closing asks the server to end the session and waits for an answer that cannot come
            Thread t = new Thread(client::close, "zgres-close-" + name);
            t.setDaemon(true);
            t.start();
        } else {
            client.close();
        }
        LOG.info("[{}] deadman stopped", name);
    }

    @Override
    public String toString() {
        return "Deadman[" + name + ", " + state.get() + "]";
    }
}
