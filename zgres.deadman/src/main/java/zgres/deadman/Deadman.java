package zgres.deadman;

import java.io.Closeable;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.api.SyncState;
import zgres.api.Tags;
import zgres.api.deadman.HealthVeto;
import zgres.api.deadman.MetadataProvider;
import zgres.api.deadman.NodeContext;
import zgres.deadman.ha.Action;
import zgres.deadman.ha.Decider;
import zgres.deadman.ha.Decision;
import zgres.deadman.ha.Local;
import zgres.deadman.ha.LockOwner;
import zgres.deadman.ha.Observation;
import zgres.deadman.ha.SyncPlanner;
import zgres.deadman.pg.AutoConf;
import zgres.deadman.pg.ControlData;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgStatus;
import zgres.deadman.pg.Supervisor;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.ZnodeCodec;

/**
 * One deadman: registers a local PostgreSQL cluster in ZooKeeper and keeps it in its right role. One loop thread
 * observes (ZooKeeper snapshot + local PostgreSQL), decides ({@link Decider}, pure) and acts; a lease thread keeps
 * the master's lease and feeds the dead man's switch.
 *
 * <h2>The lease (why two masters never accept writes at once)</h2>
 * <ul>
 * <li>The lock {@code /lock/{group}} is an ephemeral znode: it disappears only when our ZooKeeper session expires
 * (or we delete it). ZooKeeper expires a session when its leader has heard nothing of it for the session timeout T.
 * <li>The ZooKeeper client sends something at least every T/3 while connected, and followers report the sessions
 * they heard from to the leader every tick/2. So when a quorum write we sent at time {@code t} succeeds (the lease
 * renewal: a multi that checks the lock's version, every T/6), the leader had heard from us no earlier than
 * {@code t - T/3 - tick/2}, and cannot expire our session before {@code t + 2T/3 - tick/2}.
 * <li>We give PostgreSQL a lease ending at {@code t + 2T/3 - margin} (margin defaults to max(100 ms, T/10)) and send
 * that deadline to the supervisor, a process outside this JVM, as an absolute CLOCK_MONOTONIC time. The margin
 * covers the ensemble's tick/2, the supervisor's 50 ms polling, SIGSTOP/SIGKILL of the postmaster and its backends,
 * and scheduling delays on a busy machine. If the deadline passes without a newer one — JVM killed (stdin closes:
 * fenced at once), frozen, cut off from ZooKeeper, or the ensemble down — the supervisor kills PostgreSQL.
 * <li>A frozen JVM that resumes finds its deadline passed and its PostgreSQL fenced; any keepalive it sends late
 * carries the old, past deadline and cannot extend anything. Curator SUSPENDED means "not master": nothing is renewed
 * until a renewal round trip succeeds again.
 * <li>A replica promotes only after creating the lock, whose previous owner's session expired at least
 * {@code 2T/3 - tick/2} after that owner's last renewal: its lease had already ended {@code margin} earlier.
 * </ul>
 */
public final class Deadman implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Deadman.class);

    public enum State {
        LATENT, STARTED, CLOSED
    }

    private record HeldLock(long czxid, int version, long sessionId) {}

    private final DeadmanSettings settings;
    private final NodeId me;
    private final String name;
    private final CuratorFramework client;
    private final ZkPaths paths;
    private final ClusterReader reader;
    private final PgNode pg;
    private final Supplier<Map<String, String>> plugins;
    private final Supplier<List<HealthVeto>> vetoes;
    private final Supplier<List<MetadataProvider>> metadataProviders;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final ReentrantLock wakeLock = new ReentrantLock();
    private final Condition wake = wakeLock.newCondition();
    private final ExecutorService pluginCalls;
    private final Thread loop;
    private final Thread leaseThread;

    private volatile DeadmanSettings live;
    private volatile boolean woken;
    private volatile boolean connected;
    private volatile HeldLock heldLock;
    private volatile long leaseEnd;
    private volatile long leaseNanos;
    private volatile String lastDecision = "";
    private String lastDecisionKey = "";

    // loop-thread state
    private PersistentNode stateNode;
    private PersistentNode connNode;
    private byte[] connData;
    private NodeState published;
    private long publishedAt;
    private long lockFreeSince;
    private NodeId lastMaster;
    private Lsn lastMasterLsn = Lsn.ZERO;
    private long downSince;
    private long notStreamingSince;
    private int lastReceivedTimeline;
    /** sync standby name -> the master's flush position when PostgreSQL first reported it sync */
    private final Map<String, Lsn> syncSince = new HashMap<>();
    private int failedStarts;
    private long startedAt;
    /** a standby that has not accepted connections this long after its start counts as a failed start */
    private static final long START_TIMEOUT_S = 120;
    private String pgState = "starting";
    private Role roleOverride;
    private final List<String> transientProblems = new ArrayList<>();
    private String refusal = "";
    private Map<String, Object> metadata = Map.of();

    public Deadman(DeadmanSettings settings, CuratorFramework client, ZkPaths paths, PgNode pg,
            Supplier<Map<String, String>> plugins, Supplier<List<HealthVeto>> vetoes,
            Supplier<List<MetadataProvider>> metadataProviders) {
        this.settings = settings;
        this.live = settings;
        this.me = settings.id();
        this.name = me.toString();
        this.client = client;
        this.paths = paths;
        this.pg = pg;
        this.plugins = plugins;
        this.vetoes = vetoes;
        this.metadataProviders = metadataProviders;
        this.reader = new ClusterReader(client, paths, name);
        this.pluginCalls = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "zgres-deadman-plugin-" + me.port());
            t.setDaemon(true);
            return t;
        });
        this.loop = new Thread(this::run, "zgres-deadman-" + name);
        this.leaseThread = new Thread(this::leaseLoop, "zgres-lease-" + name);
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
        return heldLock != null && System.nanoTime() < leaseEnd;
    }

    public long sessionId() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            return 0;
        }
    }

    /** Applies settings that are safe to change while running (tags, timing of the loop). */
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

    /** @return the ZooKeeper session id of this deadman's client (tests: live changes keep it) */
    public long zookeeperSessionId() {
        return sessionId();
    }

    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("cannot start a " + state.get() + " deadman");
        }
        client.getConnectionStateListenable().addListener((c, newState) -> onConnectionState(newState));
        client.start();
        reader.addListener(this::onSnapshot);
        reader.start();
        leaseThread.setDaemon(true);
        leaseThread.start();
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
            case LOST -> {
                connected = false;
                lockLost("ZooKeeper session lost");
            }
            default -> {
                // READ_ONLY is not used
            }
        }
        wakeUp();
    }

    private void onSnapshot(ClusterSnapshot s) {
        wakeUp();
    }

    private void wakeUp() {
        wakeLock.lock();
        try {
            woken = true;
            wake.signalAll();
        } finally {
            wakeLock.unlock();
        }
    }

    private void sleep(long ms) throws InterruptedException {
        wakeLock.lock();
        try {
            long nanos = TimeUnit.MILLISECONDS.toNanos(ms);
            while (!woken && nanos > 0 && state.get() == State.STARTED) {
                nanos = wake.awaitNanos(nanos);
            }
            woken = false;
        } finally {
            wakeLock.unlock();
        }
    }

    // ------------------------------------------------------------------ the lease

    private long sessionTimeoutMs() {
        try {
            int t = client.getZookeeperClient().getZooKeeper().getSessionTimeout();
            if (t > 0) {
                return t;
            }
        } catch (Exception e) {
            // not connected yet
        }
        return settings.sessionTimeoutMs();
    }

    /** Lease length after a successful renewal sent at t: 2T/3 - margin (see the class comment). */
    private long leaseNanos() {
        long t = sessionTimeoutMs();
        long margin = settings.leaseMarginMs() > 0 ? settings.leaseMarginMs() : Math.max(100, t / 10);
        return TimeUnit.MILLISECONDS.toNanos(t * 2 / 3 - margin);
    }

    private void leaseLoop() {
        while (state.get() == State.STARTED || (state.get() == State.CLOSED && heldLock != null)) {
            HeldLock held = heldLock;
            long interval = Math.max(50, sessionTimeoutMs() / 6);
            if (held == null) {
                pause(Math.min(interval, 50));
                continue;
            }
            long t0 = System.nanoTime();
            renew(held, t0);
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            pause(Math.max(10, interval - elapsed));
        }
    }

    /** Sleeps; an interrupt only cuts the sleep short (tryTakeLock uses it to renew at once). */
    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            // woken early on purpose
        }
    }

    private void renew(HeldLock held, long t0) {
        try {
            if (client.getZookeeperClient().getZooKeeper().getSessionId() != held.sessionId()) {
                lockLost("ZooKeeper session changed");
                return;
            }
            client.transaction().forOperations(client.transactionOp().check().withVersion(held.version())
                    .forPath(paths.lock(me.group())));
            if (heldLock != held) {
                return;
            }
            extendLease(t0);
        } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
            lockLost("the lock was deleted or replaced");
        } catch (KeeperException.SessionExpiredException e) {
            lockLost("ZooKeeper session expired");
        } catch (Exception e) {
            if (System.nanoTime() > leaseEnd && heldLock != null) {
                LOG.debug("[{}] lease renewal failed: {}", name, e.toString());
            }
        }
    }

    /** A renewal sent at {@code sentAt} succeeded: move the deadline and tell the supervisor. */
    private void extendLease(long sentAt) {
        long end = sentAt + leaseNanos();
        if (end <= leaseEnd) {
            return;
        }
        leaseEnd = end;
        Optional<Supervisor> sup = pg.supervisor();
        if (sup.isPresent() && sup.get().isArmed() && sup.get().running()) {
            sup.get().keepalive(end);
        }
    }

    private void lockLost(String reason) {
        HeldLock held = heldLock;
        heldLock = null;
        leaseEnd = 0;
        if (held != null) {
            LOG.error("[{}] lost the master lock: {}; fencing PostgreSQL now", name, reason);
            pg.supervisor().ifPresent(s -> {
                if (s.isArmed() && s.running()) {
                    s.fence("lost the lock: " + reason);
                }
            });
        }
        wakeUp();
    }

    /** Creates the lock; returns false when another node holds it. */
    private boolean tryTakeLock() throws Exception {
        long t0 = System.nanoTime();
        Stat stat = new Stat();
        try {
            client.create().storingStatIn(stat).creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                    .forPath(paths.lock(me.group()), ZnodeCodec.writeText(me.address()));
        } catch (KeeperException.NodeExistsException e) {
            return false;
        }
        heldLock = new HeldLock(stat.getCzxid(), stat.getVersion(), stat.getEphemeralOwner());
        extendLease(t0);
        leaseThread.interrupt();
        LOG.info("[{}] took the lock {} (session 0x{})", name, paths.lock(me.group()),
                Long.toHexString(stat.getEphemeralOwner()));
        return true;
    }

    private void releaseLock(String reason) {
        HeldLock held = heldLock;
        heldLock = null;
        leaseEnd = 0;
        if (held == null) {
            return;
        }
        try {
            client.delete().withVersion(held.version()).forPath(paths.lock(me.group()));
            LOG.info("[{}] released the lock: {}", name, reason);
        } catch (Exception e) {
            LOG.warn("[{}] could not delete the lock ({}): it goes when the session ends", name, e.toString());
        }
    }

    // ------------------------------------------------------------------ the loop

    private void run() {
        while (state.get() == State.STARTED) {
            long wait = live.loopWaitMs();
            try {
                wait = cycle();
            } catch (InterruptedException e) {
                break;
            } catch (Exception e) {
                LOG.error("[{}] cycle failed: {}", name, e.toString(), e);
                transientProblems.add("deadman error: " + e.getMessage());
            }
            try {
                sleep(wait);
            } catch (InterruptedException e) {
                break;
            }
        }
    }

    /** One observe-decide-act cycle; returns how long to sleep. */
    long cycle() throws Exception {
        Observation o = observe();
        Decision d = new Decider(live.policy()).decide(o);
        String text = d.toString();
        // the same situation is logged once, even when its numbers (ms, LSNs) move
        String key = text.replaceAll("[0-9A-F]+/[0-9A-F]+|[0-9]+", "#");
        if (!key.equals(lastDecisionKey) || acts(d)) {
            lastDecisionKey = key;
            if (!acts(d)) {
                LOG.info("[{}] {}", name, text);
            } else {
                LOG.warn("[{}] {}", name, text);
            }
        }
        lastDecision = text;
        transientProblems.clear();
        // publish what we saw before acting: a crashed PostgreSQL loses its /conn even if it is back in a moment
        publish(o, d);
        act(o, d);
        if (acts(d)) {
            publish(observe(), d);
        }
        boolean busy = o.lock() == LockOwner.NONE || acts(d);
        return busy ? Math.min(100, live.loopWaitMs()) : live.loopWaitMs();
    }

    /** @return true when the decision changes something (as opposed to waiting or refusing again) */
    private static boolean acts(Decision d) {
        return d.action() != Action.NONE && d.action() != Action.WAIT && d.action() != Action.REFUSE;
    }

    private Observation observe() throws IOException {
        long now = System.nanoTime();
        ClusterSnapshot snap = reader.snapshot();
        GroupState group = snap.group(me.group()).orElse(GroupState.empty(me.group()));
        LockOwner lock = lockOwner(group);
        if (lock == LockOwner.NONE) {
            if (lockFreeSince == 0) {
                lockFreeSince = now;
            }
        } else {
            lockFreeSince = 0;
        }
        group.master().flatMap(group::state).filter(s -> s.role() == Role.MASTER).ifPresent(s -> {
            if (!s.id().equals(lastMaster)) {
                lastMaster = s.id();
                lastMasterLsn = Lsn.ZERO;
            }
            lastMasterLsn = Lsn.max(lastMasterLsn, s.bestLsn());
        });
        Local local = observeLocal(lock, now);
        return new Observation(me, live.tags(), group, lock, connected && reader.snapshot() != ClusterSnapshot.EMPTY,
                heldLock != null && now < leaseEnd, local, lastMasterLsn,
                lockFreeSince == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - lockFreeSince));
    }

    private LockOwner lockOwner(GroupState group) {
        Optional<ChildData> raw = reader.raw(paths.lock(me.group()));
        HeldLock held = heldLock;
        if (raw.isEmpty()) {
            // the cache may not show a lock we just created yet
            return held != null ? LockOwner.MINE : LockOwner.NONE;
        }
        Stat st = raw.get().getStat();
        if (held != null && st != null && st.getCzxid() <= held.czxid()) {
            // ours, or an older lock the cache has not seen deleted yet (we created ours after it was gone)
            return LockOwner.MINE;
        }
        if (held != null && st != null && st.getCzxid() > held.czxid()) {
            lockLost("the lock was replaced");
        }
        if (group.master().filter(me::equals).isPresent()) {
            return st != null && st.getEphemeralOwner() == sessionId() ? LockOwner.MINE : LockOwner.MINE_STALE;
        }
        return group.master().isPresent() ? LockOwner.OTHER : LockOwner.NONE;
    }

    private Local observeLocal(LockOwner lock, long now) throws IOException {
        pg.closeSupervisor();
        Local.DataDir dir;
        if (pg.dataDirEmpty()) {
            dir = Local.DataDir.EMPTY;
        } else if (pg.isCluster()) {
            dir = Local.DataDir.CLUSTER;
        } else {
            dir = Local.DataDir.GARBAGE;
        }
        boolean running = pg.running();
        PgStatus status = running ? pg.jdbc().probe() : PgStatus.unreachable("PostgreSQL is not running");
        if (status.reachable() && status.inRecovery()) {
            if (status.streaming()) {
                lastReceivedTimeline = status.timeline();
            } else {
                // not streaming: pg_control's timelines can be far behind on a quiet standby; the last timeline it
                // received (seen while streaming, or in its WAL segment names) is the one it is on
                status = status.withTimeline(Math.max(status.timeline(), Math.max(lastReceivedTimeline,
                        pg.newestSegmentTimeline())));
            }
        }
        Optional<ControlData> control = Optional.empty();
        if (!running && dir == Local.DataDir.CLUSTER) {
            try {
                control = Optional.of(pg.controlData());
            } catch (IOException e) {
                LOG.warn("[{}] pg_controldata failed: {}", name, e.getMessage());
            }
        }
        if (!running && lock == LockOwner.MINE) {
            if (downSince == 0) {
                downSince = now;
            }
        } else {
            downSince = 0;
        }
        String upstream = "";
        if (status.reachable() && status.inRecovery()) {
            upstream = pg.configuredUpstream();
            if (status.streaming()) {
                notStreamingSince = 0;
            } else if (notStreamingSince == 0) {
                notStreamingSince = now;
            }
        } else {
            notStreamingSince = 0;
        }
        if (status.reachable()) {
            failedStarts = 0;
            startedAt = 0;
        } else if (startedAt != 0 && (!running || now - startedAt > TimeUnit.SECONDS.toNanos(START_TIMEOUT_S))) {
            failedStarts++;
            startedAt = 0;
            LOG.warn("[{}] PostgreSQL {} after it was started ({} failed start(s) in a row; see {})", name,
                    running ? "has not accepted connections for " + START_TIMEOUT_S + " s" : "exited",
                    failedStarts, settings.logFile());
        }
        return new Local(dir, running, status, control, pg.hasStandbySignal(), upstream,
                downSince == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - downSince),
                notStreamingSince == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(now - notStreamingSince), failedStarts);
    }

    // ------------------------------------------------------------------ actions

    private void act(Observation o, Decision d) throws Exception {
        if (d.action() != Action.REFUSE) {
            refusal = "";
        }
        roleOverride = null;
        switch (d.action()) {
            case NONE -> {
                if (o.lock() == LockOwner.MINE && o.local().primary()) {
                    maintainSync(o);
                }
            }
            case WAIT -> {
                // nothing
            }
            case HANDOVER -> handover(o, d);
            case CANCEL_SWITCHOVER -> cancelSwitchover(o, d);
            case REFUSE -> refuse(d);
            case BOOTSTRAP -> bootstrap(o);
            case CLONE -> clone(o, d);
            case START_STANDBY -> startStandby(o, d);
            case START_MASTER -> startMaster();
            case FOLLOW -> follow(o, d);
            case REWIND -> rewind(o, d);
            case RECLONE -> {
                pg.stop("INT", 30_000);
                pg.wipe();
                failedStarts = 0;
            }
            case TAKE_LOCK -> takeLockAndPromote(o);
            case PROMOTE -> promote(o);
            case FENCE -> fence(d.reason());
            case RELEASE_LOCK -> {
                pg.fence("giving up the lock");
                releaseLock(d.reason());
            }
            case DELETE_STALE_LOCK -> deleteStaleLock();
        }
    }

    private void refuse(Decision d) {
        refusal = d.reason();
        if (pg.running()) {
            LOG.error("[{}] stopping PostgreSQL: {}", name, d.reason());
            pg.stop("INT", 30_000);
        }
        pgState = "refused";
    }

    private void bootstrap(Observation o) throws Exception {
        if (o.lock() == LockOwner.NONE && !tryTakeLock()) {
            return;
        }
        pgState = "initdb";
        publishNow();
        try {
            pg.initdb();
            awaitLease();
            startPostgres(OptionalLong.of(leaseEnd));
            if (!pg.awaitReady(120_000)) {
                throw new IOException("PostgreSQL did not become ready after initdb (see " + settings.logFile() + ")");
            }
            pg.createReplicationRole();
            PgStatus st = pg.jdbc().probe();
            createIfAbsent(paths.dbId(me.group()), st.systemId());
            createIfAbsent(paths.timeline(me.group()), Integer.toString(Math.max(1, st.timeline())));
            history(st.timeline(), st.writeLsn(), "", "bootstrap");
            LOG.warn("[{}] bootstrapped group {}: db-id {}, timeline {}", name, me.group(), st.systemId(),
                    st.timeline());
        } catch (Exception e) {
            LOG.error("[{}] bootstrap failed: {}; releasing the lock", name, e.getMessage());
            pg.fence("bootstrap failed");
            releaseLock("bootstrap failed");
            if (pg.isCluster() || !pg.dataDirEmpty()) {
                pg.wipe();
            }
            throw e;
        }
    }

    private void createIfAbsent(String path, String value) throws Exception {
        try {
            client.create().creatingParentsIfNeeded().forPath(path, ZnodeCodec.writeText(value));
        } catch (KeeperException.NodeExistsException e) {
            String existing = ZnodeCodec.readText(client.getData().forPath(path));
            if (!existing.equals(value)) {
                LOG.warn("[{}] {} already holds '{}', not '{}'", name, path, existing, value);
            }
        }
    }

    private void clone(Observation o, Decision d) throws Exception {
        ConnInfo from = o.group().conns().get(d.target().orElseThrow());
        pgState = "basebackup";
        publishNow();
        try {
            pg.basebackup(from);
            pg.configureStandby(Optional.of(from));
        } catch (Exception e) {
            LOG.error("[{}] pg_basebackup from {} failed: {}", name, from.address(), e.getMessage());
            pg.wipe();
            throw e;
        }
        startPostgres(OptionalLong.empty());
        pg.awaitReady(60_000);
    }

    private void startStandby(Observation o, Decision d) throws Exception {
        Optional<ConnInfo> upstream = d.target().map(t -> o.group().conns().get(t));
        pg.configureStandby(upstream);
        pgState = "starting";
        startPostgres(OptionalLong.empty());
        pg.awaitReady(60_000);
    }

    private void startMaster() throws Exception {
        awaitLease();
        if (heldLock == null || System.nanoTime() >= leaseEnd) {
            return;
        }
        pgState = "starting";
        startPostgres(OptionalLong.of(leaseEnd));
        pg.awaitReady(120_000);
    }

    private void follow(Observation o, Decision d) throws SQLException {
        ConnInfo m = o.group().conns().get(d.target().orElseThrow());
        pg.repoint(m);
        notStreamingSince = System.nanoTime();
    }

    private void rewind(Observation o, Decision d) throws Exception {
        ConnInfo m = o.group().conns().get(d.target().orElseThrow());
        if (pg.running()) {
            pg.stop("INT", 30_000);
        }
        pgState = "rewinding";
        publishNow();
        try {
            String out = pg.rewind(m);
            LOG.warn("[{}] pg_rewind from {}: {}", name, m.address(), out.replace('\n', ' '));
        } catch (Exception e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("could not connect") || msg.contains("connection to server")) {
                LOG.error("[{}] pg_rewind could not reach {}: {}; starting as a standby, trying again later", name,
                        m.address(), msg);
                transientProblems.add("pg_rewind could not reach " + m.address());
                pg.configureStandby(Optional.of(m));
                startPostgres(OptionalLong.empty());
                return;
            }
            if (live.rewindFailure().equals("reclone")) {
                LOG.error("[{}] pg_rewind from {} failed: {}; re-cloning (rewind_failure = reclone)", name,
                        m.address(), e.getMessage());
                pg.wipe();
                return;
            }
            LOG.error("[{}] pg_rewind from {} failed: {}; leaving PostgreSQL stopped (rewind_failure = stop)", name,
                    m.address(), e.getMessage());
            transientProblems.add("pg_rewind failed: " + e.getMessage());
            throw e;
        }
        pg.configureStandby(Optional.of(m));
        startPostgres(OptionalLong.empty());
        pg.awaitReady(60_000);
    }

    private void takeLockAndPromote(Observation o) throws Exception {
        if (!tryTakeLock()) {
            LOG.info("[{}] another node took the lock first", name);
            return;
        }
        // in a handover the old master named us and we promote only once we have its final position: nobody can
        // be further ahead, so the peer check (a few round trips) is skipped
        boolean handover = o.group().switchover().filter(s -> s.handover() && s.candidate().equals(me.toString()))
                .isPresent();
        Optional<String> ahead = handover ? Optional.empty() : peerAhead(o);
        if (ahead.isPresent()) {
            releaseLock("a peer is ahead: " + ahead.get());
            return;
        }
        promote(o);
    }

    /** Re-reads the peers' states after taking the lock: a peer further ahead must be promoted instead. */
    private Optional<String> peerAhead(Observation o) throws Exception {
        client.sync().forPath(paths.stateDir());
        Lsn mine = pg.jdbc().probe().bestLsn();
        for (NodeId peer : o.group().states().keySet()) {
            if (peer.equals(me)) {
                continue;
            }
            try {
                NodeState s = ZnodeCodec.readState(peer, client.getData().forPath(paths.state(peer)));
                boolean eligible = s.role() == Role.REPLICA && s.problems().isEmpty() && !s.tags().nofailover()
                        && o.group().conns().containsKey(peer);
                if (eligible && s.bestLsn().isAfter(mine) && s.timeline() >= o.local().timeline()) {
                    return Optional.of(peer.address() + " has LSN " + s.bestLsn() + " > ours " + mine);
                }
            } catch (KeeperException.NoNodeException e) {
                // gone
            } catch (IllegalArgumentException e) {
                LOG.debug("[{}] unreadable state of {}: {}", name, peer, e.getMessage());
            }
        }
        return Optional.empty();
    }

    private void promote(Observation o) throws Exception {
        long entered = System.nanoTime();
        awaitLease();
        if (heldLock == null || System.nanoTime() >= leaseEnd) {
            LOG.warn("[{}] not promoting: no valid lease", name);
            return;
        }
        Supervisor sup = pg.supervisor().orElseThrow(() -> new IllegalStateException("PostgreSQL is not running"));
        // read the request from ZooKeeper, not from the snapshot: the snapshot may predate the old master's final
        // position (it writes the request twice: before stopping PostgreSQL, then with its last LSN, then releases
        // the lock; our server applied all of that before it let us create the lock)
        Optional<Switchover> seen = o.group().switchover().filter(s -> s.candidate().equals(me.toString()));
        Optional<Switchover> request = seen.isPresent() && seen.get().handover() && !seen.get().finalLsn().equals(
                Lsn.ZERO) ? seen : currentSwitchover().filter(s -> s.candidate().equals(me.toString()));
        if (request.isPresent() && request.get().handover() && request.get().finalLsn().equals(Lsn.ZERO)) {
            LOG.error("[{}] switchover: the old master {} released the lock without recording its last position; "
                    + "giving the lock back so that the most advanced node is elected", name, request.get().from());
            deleteSwitchover();
            releaseLock("switchover without a final position");
            return;
        }
        if (request.isPresent() && request.get().handover() && !caughtUp(request.get().finalLsn())) {
            LOG.error("[{}] switchover: did not receive the old master's last position {} within 10 s; giving the "
                    + "lock back so that the most advanced node is elected", name, request.get().finalLsn());
            deleteSwitchover();
            releaseLock("switchover candidate not caught up");
            return;
        }
        if (live.policy().syncMode() != SyncPlanner.Mode.OFF) {
            // nothing this node acknowledges as master is synchronous yet: /sync must not name the old standbys
            writeSync(List.of());
            pg.jdbc().execute("ALTER SYSTEM SET synchronous_standby_names = " + AutoConf.quote(
                    live.policy().syncMode() == SyncPlanner.Mode.STRICT ? "*" : ""), 10);
            pg.jdbc().execute("SELECT pg_reload_conf()", 10);
            syncSince.clear();
        }
        // arm the dead man's switch before PostgreSQL can accept a single write
        sup.keepalive(leaseEnd);
        roleOverride = Role.TAKING_OVER;
        pgState = "promoting";
        Lsn before = pg.jdbc().probe().bestLsn();
        String oldMaster = lastMaster == null ? "" : lastMaster.toString();
        long t0 = System.nanoTime();
        pg.promote();
        PgStatus st = pg.jdbc().probe();
        if (!st.reachable() || st.inRecovery()) {
            throw new IOException("promotion did not finish: " + st.error());
        }
        LOG.warn("[{}] promoted in {} ms (after {} ms of checks): timeline {}, LSN {} (received {})", name,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), TimeUnit.NANOSECONDS.toMillis(t0 - entered),
                st.timeline(), st.writeLsn(), before);
        // replicas that rewind read our timeline from pg_control: checkpoint now rather than when PostgreSQL gets to it
        Thread cp = new Thread(() -> {
            try (Connection c = pg.jdbc().open(); java.sql.Statement s = c.createStatement()) {
                s.execute("CHECKPOINT");
            } catch (SQLException e) {
                LOG.debug("[{}] checkpoint after promotion: {}", name, e.getMessage());
            }
        }, "zgres-checkpoint-" + me.port());
        cp.setDaemon(true);
        cp.start();
        bumpTimeline(st.timeline());
        String reason = request.map(s -> s.handover() ? "switchover" : "manual").orElse(
                o.lock() == LockOwner.NONE ? "failover" : "promotion");
        history(st.timeline(), before, request.map(Switchover::from).filter(f -> !f.isEmpty()).orElse(oldMaster),
                reason);
        if (request.isPresent()) {
            deleteSwitchover();
        }
        roleOverride = null;
        pgState = "running";
        publishNow();
    }

    private void bumpTimeline(int timeline) throws Exception {
        String path = paths.timeline(me.group());
        for (int i = 0; i < 10; i++) {
            Stat stat = new Stat();
            try {
                long current = ZnodeCodec.readTimeline(client.getData().storingStatIn(stat).forPath(path));
                if (current >= timeline) {
                    return;
                }
                client.setData().withVersion(stat.getVersion()).forPath(path, ZnodeCodec.writeText(
                        Integer.toString(timeline)));
                return;
            } catch (KeeperException.NoNodeException e) {
                createIfAbsent(path, Integer.toString(timeline));
                return;
            } catch (KeeperException.BadVersionException e) {
                // raced: read again
            } catch (IllegalArgumentException e) {
                LOG.warn("[{}] {} was unreadable ({}): overwriting with {}", name, path, e.getMessage(), timeline);
                client.setData().forPath(path, ZnodeCodec.writeText(Integer.toString(timeline)));
                return;
            }
        }
    }

    private void history(int timeline, Lsn lsn, String oldMaster, String reason) {
        try {
            ObjectNode h = ZnodeCodec.mapper().createObjectNode();
            h.put("timeline", timeline);
            h.put("lsn", lsn.toString());
            h.put("lsn_num", lsn.value());
            h.put("old_master", oldMaster);
            h.put("new_master", me.toString());
            h.put("reason", reason);
            h.put("at", Instant.now().toString());
            client.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
                    .forPath(paths.history(me.group()) + "/h-", ZnodeCodec.bytes(h));
        } catch (Exception e) {
            LOG.warn("[{}] could not record history: {}", name, e.toString());
        }
    }

    /** Waits (up to 10 s) until this standby has received the old master's last position. */
    private boolean caughtUp(Lsn finalLsn) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            PgStatus st = pg.jdbc().probe();
            if (st.reachable() && st.replayLsn().compareTo(finalLsn) >= 0) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    /**
     * Planned switchover on the master: mark the request as a handover, stop PostgreSQL cleanly (a fast shutdown
     * sends all its WAL to the connected standbys), record its last position, and give the lock up: the candidate
     * takes it, waits for that position and promotes; nothing acknowledged is lost.
     */
    private void handover(Observation o, Decision d) throws Exception {
        handover(o.group().switchover().orElseThrow(), d.target().orElseThrow(), false);
    }

    private void handover(Switchover s, NodeId to, boolean create) throws Exception {
        long t0 = System.nanoTime();
        // mark the request as being carried out (it can no longer be cancelled), then checkpoint while PostgreSQL
        // still takes writes: the shutdown checkpoint, inside the write outage, is then short
        if (create) {
            createSwitchover(s.handingOver(me.toString(), to.toString(), Lsn.ZERO));
        } else {
            writeSwitchover(s.handingOver(me.toString(), to.toString(), Lsn.ZERO));
        }
        try {
            pg.jdbc().execute("CHECKPOINT", 30);
        } catch (SQLException e) {
            LOG.warn("[{}] switchover: CHECKPOINT before stopping failed ({}); stopping anyway", name, e.getMessage());
        }
        long t1 = System.nanoTime();
        pgState = "stopping";
        pg.requestStop("INT");
        // Once the shutdown checkpoint is in pg_control every backend has exited and nothing can commit any more:
        // its location is final. The WAL senders are still sending it and the postmaster exits only after they
        // have (a few hundred ms): the lock is handed over at once, the candidate waits for that position anyway.
        Optional<Lsn> early = Optional.empty();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (early.isEmpty() && pg.running() && System.nanoTime() < deadline) {
            early = pg.shutdownCheckpoint();
            if (early.isEmpty()) {
                Thread.sleep(5);
            }
        }
        long t2 = System.nanoTime();
        Lsn last;
        if (early.isPresent()) {
            last = early.get();
            handOverLock(s.handingOver(me.toString(), to.toString(), last), to);
            pg.awaitStop(30_000);
        } else {
            pg.awaitStop(30_000);
            last = pg.checkpointLsn();
            handOverLock(s.handingOver(me.toString(), to.toString(), last), to);
        }
        LOG.warn("[{}] switchover: checkpoint in {} ms, shutdown checkpoint at {} {} ms after the stop request{}, "
                + "lock handed over to {}; PostgreSQL exited {} ms after the stop request", name,
                TimeUnit.NANOSECONDS.toMillis(t1 - t0), last, TimeUnit.NANOSECONDS.toMillis(t2 - t1),
                early.isPresent() ? " (read from pg_control while the WAL senders finish)" : " (after the exit)",
                to.address(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1));
    }

    /**
     * A master stopped cleanly hands the lock over like a switchover to the best replica, when one qualifies and no
     * request is pending: the candidate takes the lock at once (no election delay) and promotes with the final
     * position. On any doubt it falls back to stopping PostgreSQL and releasing the lock.
     */
    private void handOverOnStop() {
        try {
            Observation o = observe();
            if (o.lock() != LockOwner.MINE || o.group().switchover().isPresent() || heldLock == null
                    || System.nanoTime() >= leaseEnd) {
                return;
            }
            Decision d = new Decider(live.policy()).onStop(o);
            if (d.action() != Action.HANDOVER) {
                LOG.warn("[{}] stopping: {}", name, d.reason());
                return;
            }
            LOG.warn("[{}] {}", name, d.reason());
            handover(new Switchover(Switchover.SWITCHOVER, d.target().orElseThrow().toString(), Instant.now(), null,
                    false, Switchover.REQUESTED, "", Lsn.ZERO), d.target().orElseThrow(), true);
        } catch (Exception e) {
            LOG.warn("[{}] stopping: could not hand over ({}): stopping PostgreSQL and releasing the lock", name,
                    e.toString());
        }
    }

    /** Records the final position and deletes the lock in one transaction (one round trip in the outage). */
    private void handOverLock(Switchover handover, NodeId to) throws Exception {
        HeldLock held = heldLock;
        if (held == null) {
            throw new IllegalStateException("not holding the lock");
        }
        heldLock = null;
        leaseEnd = 0;
        try {
            client.transaction().forOperations(
                    client.transactionOp().setData().forPath(paths.switchover(me.group()),
                            ZnodeCodec.writeSwitchover(handover)),
                    client.transactionOp().delete().withVersion(held.version()).forPath(paths.lock(me.group())));
            LOG.info("[{}] released the lock: switchover to {}", name, to.address());
        } catch (Exception e) {
            LOG.warn("[{}] could not hand the lock over ({}): it goes when the session ends", name, e.toString());
        }
    }

    private void cancelSwitchover(Observation o, Decision d) {
        LOG.error("[{}] {}: the request is dropped", name, d.reason());
        deleteSwitchover();
    }

    /** Creates {@code /switchover/{group}} while this node holds the lock (a clean stop's handover). */
    private void createSwitchover(Switchover s) throws Exception {
        HeldLock held = heldLock;
        if (held == null) {
            throw new IllegalStateException("not holding the lock");
        }
        if (client.checkExists().forPath(paths.switchoverDir()) == null) {
            try {
                client.create().creatingParentsIfNeeded().forPath(paths.switchoverDir());
            } catch (KeeperException.NodeExistsException e) {
                // created meanwhile
            }
        }
        client.transaction().forOperations(
                client.transactionOp().check().withVersion(held.version()).forPath(paths.lock(me.group())),
                client.transactionOp().create().forPath(paths.switchover(me.group()), ZnodeCodec.writeSwitchover(s)));
    }

    private void writeSwitchover(Switchover s) throws Exception {
        HeldLock held = heldLock;
        if (held == null) {
            throw new IllegalStateException("not holding the lock");
        }
        client.transaction().forOperations(
                client.transactionOp().check().withVersion(held.version()).forPath(paths.lock(me.group())),
                client.transactionOp().setData().forPath(paths.switchover(me.group()), ZnodeCodec.writeSwitchover(s)));
    }

    /** @return {@code /switchover/{group}} as ZooKeeper has it now (empty when absent or unreadable) */
    private Optional<Switchover> currentSwitchover() throws Exception {
        try {
            return Optional.of(ZnodeCodec.readSwitchover(client.getData().forPath(paths.switchover(me.group()))));
        } catch (KeeperException.NoNodeException e) {
            return Optional.empty();
        } catch (IllegalArgumentException e) {
            LOG.error("[{}] {} is unreadable ({}): ignoring it", name, paths.switchover(me.group()), e.getMessage());
            return Optional.empty();
        }
    }

    private void deleteSwitchover() {
        try {
            client.delete().forPath(paths.switchover(me.group()));
        } catch (KeeperException.NoNodeException e) {
            // already gone
        } catch (Exception e) {
            LOG.warn("[{}] could not delete {}: {}", name, paths.switchover(me.group()), e.toString());
        }
    }

    /** Writes /sync (master = this node) atomically with a check that we still hold the lock. */
    private void writeSync(List<String> standbys) throws Exception {
        HeldLock held = heldLock;
        if (held == null) {
            throw new IllegalStateException("not holding the lock");
        }
        byte[] data = ZnodeCodec.writeSync(new SyncState(me.toString(), standbys));
        String path = paths.sync(me.group());
        if (client.checkExists().forPath(path) == null) {
            try {
                client.create().creatingParentsIfNeeded().forPath(path, data);
                return;
            } catch (KeeperException.NodeExistsException e) {
                // raced: set it below
            }
        }
        client.transaction().forOperations(
                client.transactionOp().check().withVersion(held.version()).forPath(paths.lock(me.group())),
                client.transactionOp().setData().forPath(path, data));
    }

    /** One step of synchronous replication management on the master (see {@link SyncPlanner}). */
    private void maintainSync(Observation o) throws Exception {
        SyncPlanner.Mode mode = live.policy().syncMode();
        SyncState published = o.group().sync();
        if (mode == SyncPlanner.Mode.OFF && published.standbys().isEmpty() && syncSince.isEmpty()
                && (published.master().isEmpty() || published.master().equals(me.toString()))) {
            String current = pg.jdbc().queryOne("SHOW synchronous_standby_names", 5);
            if (current == null || current.isEmpty()) {
                return;
            }
        }
        Map<String, SyncPlanner.Standby> rows = new HashMap<>();
        Lsn flush = Lsn.ZERO;
        try (Connection c = pg.jdbc().open(); java.sql.Statement s = c.createStatement();
                java.sql.ResultSet rs = s.executeQuery("SELECT application_name, state, sync_state, "
                        + "coalesce(flush_lsn, '0/0')::text, pg_current_wal_flush_lsn()::text, "
                        + "current_setting('synchronous_standby_names') FROM pg_stat_replication "
                        + "RIGHT JOIN (SELECT 1) one ON true")) {
            String ssn = "";
            while (rs.next()) {
                flush = Lsn.parse(rs.getString(5));
                ssn = rs.getString(6);
                if (rs.getString(1) != null) {
                    rows.put(rs.getString(1), new SyncPlanner.Standby(rs.getString(1), rs.getString(2),
                            rs.getString(3), Lsn.parse(rs.getString(4))));
                }
            }
            List<String> current = SyncPlanner.parseNames(ssn);
            for (Map.Entry<String, SyncPlanner.Standby> e : rows.entrySet()) {
                if (current.contains(e.getKey()) && e.getValue().syncState() != null
                        && (e.getValue().syncState().equals("sync") || e.getValue().syncState().equals("quorum"))) {
                    syncSince.putIfAbsent(e.getKey(), flush);
                } else {
                    syncSince.remove(e.getKey());
                }
            }
            syncSince.keySet().retainAll(rows.keySet());
            List<String> pub = published.master().equals(me.toString()) ? published.standbys() : List.of();
            SyncPlanner.Plan plan = SyncPlanner.plan(mode, live.policy().syncCount(), me, o.group(), current, pub,
                    rows, syncSince);
            if (!published.master().equals(me.toString()) && plan.unpublish().isEmpty() && plan.publish().isEmpty()) {
                writeSync(List.of());
            }
            if (plan.nothing()) {
                return;
            }
            LOG.warn("[{}] sync: {}", name, plan.reason());
            if (plan.unpublish().isPresent()) {
                writeSync(plan.unpublish().get());
            }
            if (plan.standbyNames().isPresent()) {
                pg.jdbc().execute("ALTER SYSTEM SET synchronous_standby_names = "
                        + AutoConf.quote(plan.standbyNames().get()), 10);
                pg.jdbc().execute("SELECT pg_reload_conf()", 10);
            }
            if (plan.publish().isPresent()) {
                writeSync(plan.publish().get());
            }
        }
    }

    private void fence(String reason) {
        LOG.error("[{}] fencing PostgreSQL: {}", name, reason);
        pg.fence(reason);
        pgState = "fenced";
        closeConn();
    }

    private void deleteStaleLock() {
        try {
            Stat stat = new Stat();
            byte[] data = client.getData().storingStatIn(stat).forPath(paths.lock(me.group()));
            if (me.address().equals(ZnodeCodec.readText(data)) && stat.getEphemeralOwner() != sessionId()
                    && !pg.running()) {
                client.delete().withVersion(stat.getVersion()).forPath(paths.lock(me.group()));
                LOG.warn("[{}] deleted the lock left by our earlier session 0x{}", name,
                        Long.toHexString(stat.getEphemeralOwner()));
            }
        } catch (KeeperException.NoNodeException e) {
            // already gone
        } catch (Exception e) {
            LOG.warn("[{}] could not delete the stale lock: {}", name, e.toString());
        }
    }

    /** Waits briefly for the first lease confirmation after taking the lock. */
    private void awaitLease() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMs() / 2);
        while (heldLock != null && System.nanoTime() >= leaseEnd && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    /** Starts PostgreSQL and remembers when, to count starts that never get ready. */
    private void startPostgres(OptionalLong armedDeadline) throws IOException {
        pg.start(armedDeadline, this::onSupervisorEvent);
        startedAt = System.nanoTime();
    }

    private void onSupervisorEvent(String event) {
        if (event.startsWith("EXITED") || event.startsWith("FENCED")) {
            if (event.startsWith("FENCED")) {
                pgState = "fenced";
            }
            wakeUp();
        }
    }

    // ------------------------------------------------------------------ publishing

    private void publishNow() {
        try {
            publish(observe(), null);
        } catch (Exception e) {
            LOG.debug("[{}] publish failed: {}", name, e.toString());
        }
    }

    private void publish(Observation o, Decision d) {
        if (!connected) {
            return;
        }
        Local local = o.local();
        List<String> problems = new ArrayList<>();
        Role role;
        String st;
        if (!refusal.isEmpty()) {
            role = Role.STOPPED;
            st = "refused";
            problems.add(refusal);
        } else if (local.running() && local.status().reachable()) {
            if (local.status().inRecovery()) {
                role = roleOverride != null ? roleOverride : Role.REPLICA;
                st = roleOverride != null ? pgState : local.status().streaming() ? "streaming" : "running";
            } else {
                role = o.lock() == LockOwner.MINE ? Role.MASTER : Role.FENCED;
                st = "running";
                if (role == Role.FENCED) {
                    problems.add("writable without the lock");
                }
            }
            problems.addAll(vetoProblems(role, local));
        } else if (local.running()) {
            role = roleOverride != null ? roleOverride : Role.STARTING;
            st = "starting";
            problems.add("not accepting connections: " + local.status().error());
        } else {
            role = "fenced".equals(pgState) ? Role.FENCED : isBusy(pgState) ? Role.STARTING : Role.STOPPED;
            st = isBusy(pgState) || "fenced".equals(pgState) ? pgState : "stopped";
            problems.add("PostgreSQL is not running");
        }
        problems.addAll(transientProblems);
        if (!local.running() && !isBusy(pgState) && !"fenced".equals(pgState)) {
            pgState = "stopped";
        }
        PgStatus s = local.status();
        Tags tags = live.tags();
        Object zone = metadata.get("zone");
        if (zone != null) {
            tags = new Tags(tags.nofailover(), tags.priority(), zone.toString());
        }
        Lsn receive = s.inRecovery() ? s.receiveLsn() : s.flushLsn();
        Lsn replay = s.inRecovery() ? s.replayLsn() : s.writeLsn();
        NodeState ns = new NodeState(me, role, st, s.inRecovery() ? local.configuredUpstream() : "", problems,
                local.timeline(), receive, replay, s.inRecovery() ? Lsn.ZERO : s.writeLsn(), s.lagBytes(),
                local.systemId(), tags, o.group().paused(), plugins.get(), metadata, Instant.now());
        long now = System.nanoTime();
        boolean changed = published == null || !sameExceptPositions(published, ns);
        boolean positionsDue = published != null && !samePositions(published, ns)
                && (now - publishedAt >= TimeUnit.MILLISECONDS.toNanos(live.stateIntervalMs())
                        || o.lock() == LockOwner.NONE);
        boolean refresh = now - publishedAt >= TimeUnit.SECONDS.toNanos(30);
        if ((changed || positionsDue || refresh) && writeState(ns)) {
            published = ns;
            publishedAt = now;
        }
        boolean healthy = ns.healthy() && (role == Role.MASTER || role == Role.REPLICA);
        if (healthy) {
            openConn(new ConnInfo(me.host(), me.port(), settings.dbname(), tags.zone()));
        } else {
            closeConn();
        }
    }

    private static boolean isBusy(String st) {
        return switch (st) {
            case "initdb", "basebackup", "rewinding", "promoting", "starting" -> true;
            default -> false;
        };
    }

    private static boolean samePositions(NodeState a, NodeState b) {
        return a.receiveLsn().equals(b.receiveLsn()) && a.replayLsn().equals(b.replayLsn())
                && a.writeLsn().equals(b.writeLsn()) && a.lagBytes() == b.lagBytes();
    }

    private static boolean sameExceptPositions(NodeState a, NodeState b) {
        return a.role() == b.role() && a.pgState().equals(b.pgState()) && a.upstream().equals(b.upstream())
                && a.problems().equals(b.problems()) && a.timeline() == b.timeline()
                && a.systemId().equals(b.systemId()) && a.tags().equals(b.tags()) && a.paused() == b.paused()
                && a.plugins().equals(b.plugins()) && a.metadata().equals(b.metadata());
    }

    private boolean writeState(NodeState ns) {
        byte[] data = ZnodeCodec.writeState(ns);
        try {
            if (stateNode == null) {
                stateNode = new PersistentNode(client, CreateMode.EPHEMERAL, false, paths.state(me), data);
                stateNode.start();
                stateNode.waitForInitialCreate(5, TimeUnit.SECONDS);
            } else {
                stateNode.setData(data);
            }
            return true;
        } catch (Exception e) {
            LOG.warn("[{}] could not publish state: {}", name, e.toString());
            return false;
        }
    }

    private void openConn(ConnInfo c) {
        byte[] data = ZnodeCodec.writeConn(c);
        if (connNode != null && java.util.Arrays.equals(data, connData)) {
            return;
        }
        closeConn(); // /conn never changes during its life: delete and recreate
        connNode = new PersistentNode(client, CreateMode.EPHEMERAL, false, paths.conn(me), data);
        connNode.start();
        connData = data;
        LOG.info("[{}] healthy: published {}", name, paths.conn(me));
    }

    private void closeConn() {
        if (connNode != null) {
            try {
                connNode.close();
            } catch (IOException e) {
                LOG.debug("closing conn node: {}", e.toString());
            }
            connNode = null;
            connData = null;
            LOG.info("[{}] not healthy: removed {}", name, paths.conn(me));
        }
    }

    private List<String> vetoProblems(Role role, Local local) {
        List<String> problems = new ArrayList<>();
        NodeContext ctx = new NodeContext() {
            @Override
            public NodeId id() {
                return me;
            }

            @Override
            public Role role() {
                return role;
            }

            @Override
            public java.nio.file.Path dataDirectory() {
                return settings.dataDir();
            }

            @Override
            public Connection connect() throws SQLException {
                return pg.jdbc().open();
            }
        };
        for (HealthVeto v : vetoes.get()) {
            try {
                Future<Optional<String>> f = pluginCalls.submit(() -> v.check(ctx));
                f.get(2, TimeUnit.SECONDS).ifPresent(p -> problems.add("vetoed by " + v.getClass().getSimpleName()
                        + ": " + p));
            } catch (Exception e) {
                problems.add("health veto " + v.getClass().getSimpleName() + " failed: " + e);
            }
        }
        Map<String, Object> md = new LinkedHashMap<>();
        for (MetadataProvider m : metadataProviders.get()) {
            try {
                Future<Map<String, Object>> f = pluginCalls.submit(() -> m.metadata(ctx));
                Map<String, Object> r = f.get(2, TimeUnit.SECONDS);
                if (r != null) {
                    r.forEach((k, val) -> {
                        if (val instanceof String || val instanceof Number || val instanceof Boolean) {
                            md.put(k, val);
                        }
                    });
                }
            } catch (Exception e) {
                LOG.warn("[{}] metadata provider {} failed: {}", name, m.getClass().getSimpleName(), e.toString());
            }
        }
        metadata = Map.copyOf(md);
        return problems;
    }

    // ------------------------------------------------------------------ stopping

    /**
     * Stops cleanly: PostgreSQL gets a fast shutdown (which sends all its WAL to connected standbys) while the lease
     * is still renewed, then the lock is released at once so that failover does not wait for the session to expire.
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
        boolean master = heldLock != null;
        if (master && pg.running()) {
            handOverOnStop();
        }
        if (pg.running()) {
            LOG.warn("[{}] stopping: fast shutdown of PostgreSQL{}", name, heldLock != null ? " (master: the lock is "
                    + "released right after)" : "");
            pg.stop("INT", 15_000);
        }
        releaseLock("deadman stopped");
        leaseThread.interrupt();
        closeConn();
        if (stateNode != null) {
            try {
                stateNode.close();
            } catch (IOException e) {
                LOG.debug("closing state node: {}", e.toString());
            }
        }
        reader.close();
        pg.close();
        pluginCalls.shutdownNow();
        client.close();
        LOG.info("[{}] deadman stopped", name);
    }

    @Override
    public String toString() {
        return "Deadman[" + name + ", " + state.get() + "]";
    }
}
