package zgres.deadman.lease;

import java.io.Closeable;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.GroupState;
import zgres.api.MasterLock;
import zgres.api.NodeId;
import zgres.deadman.ha.LockOwner;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * The master lock {@code /lock/{group}} and the lease on it (owns that znode): takes it, renews it, releases it,
 * hands it over, and drives the dead man's switch with every confirmed renewal.
 *
 * <h2>The lease (why two masters never accept writes at once)</h2>
 * <ul>
 * <li>The lock is an ephemeral znode: it disappears only when our ZooKeeper session expires (or we delete it).
 * ZooKeeper expires a session when its leader has heard nothing of it for the session timeout T.
 * <li>The ZooKeeper client sends something at least every T/3 while connected, and followers report the sessions they
 * heard from to the leader every tick/2. So when a quorum write we sent at time {@code t} succeeds (the renewal: a
 * multi that checks the lock exists, every T/6, followed by a read of its owner session and creating transaction:
 * the lock is ours by session, whatever its content or version), the leader had heard from us no earlier than
 * {@code t - T/3 - tick/2}, and cannot expire our session before {@code t + 2T/3 - tick/2}.
 * <li>We give PostgreSQL a lease ending at {@code t + 2T/3 - margin} (margin defaults to max(100 ms, T/10, tick/2 +
 * 50 ms), the tick learned from the ensemble; a configured margin that does not cover tick/2 + 50 ms makes the node
 * refuse to act as master: {@link #premiseProblem}) and send
 * that deadline to the supervisor, a process outside this JVM, as an absolute CLOCK_MONOTONIC time. The margin covers
 * the ensemble's tick/2, the supervisor's 50 ms polling, SIGSTOP/SIGKILL of the postmaster and its backends, and
 * scheduling delays on a busy machine. If the deadline passes without a newer one — JVM killed (stdin closes: fenced
 * at once), frozen, cut off from ZooKeeper, or the ensemble down — the supervisor kills PostgreSQL.
 * <li>A frozen JVM that resumes finds its deadline passed and its PostgreSQL fenced; a keepalive it sends late carries
 * the old, past deadline and cannot extend anything. Curator SUSPENDED means "not master": nothing is renewed until a
 * renewal round trip succeeds again.
 * <li>A replica promotes only after creating the lock, whose previous owner's session expired at least
 * {@code 2T/3 - tick/2} after that owner's last renewal: its lease had already ended {@code margin} earlier.
 * </ul>
 * The lease is one immutable {@link Lease} value, replaced as a whole (by the loop when taking or releasing, by the
 * renewal thread when extending); nobody else writes it.
 */
public final class LeaseKeeper implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

    public enum State {
        LATENT, STARTED, CLOSED
    }

    /**
     * The lock we hold and until when it is ours.
     *
     * @param created the lock znode's creating transaction (czxid): a lock re-created later is not ours
     * @param version the znode's version (the renewal checks it)
     * @param session our ZooKeeper session that owns it
     * @param endNanos the lease deadline ({@link System#nanoTime()}); in the past until a renewal confirms it
     */
    public record Lease(long created, int version, long session, long endNanos) {
        public boolean validAt(long nanos) {
            return nanos < endNanos;
        }

        Lease extendedTo(long end) {
            return new Lease(created, version, session, end);
        }

        Lease withVersion(int v) {
            return new Lease(created, v, session, endNanos);
        }
    }

    /** What the lease drives: PostgreSQL's supervisor outside the JVM. */
    public interface DeadMansSwitch {
        /** Moves the deadline of an armed switch (no-op when unarmed or PostgreSQL does not run). */
        void keepalive(long deadlineNanos);

        /** Fences an armed switch now. */
        void fence(String reason);
    }

    private final CuratorFramework client;
    private final ZkPaths paths;
    private final NodeId me;
    private final String name;
    private final int configuredSessionTimeoutMs;
    private final DeadMansSwitch deadMansSwitch;
    private final Runnable onChange;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicReference<Lease> lease = new AtomicReference<>();
    private final Thread renewals;
    private final LeasePremise premise;
    /** how long after start the lock waits for the tick; then the classic margin max(100 ms, T/10) applies */
    static final long TICK_WAIT_MS = 2000;
    private final long createdAt = System.nanoTime();
    private volatile boolean saidTickWait;
    private volatile String reportedPremise = "";
    /** the creating transaction of our lock once the cache has shown it (its absence then means it was deleted) */
    private volatile long seenInCache;
    private final ConnectionStateListener lostListener = (c, s) -> {
        if (s == ConnectionState.LOST) {
            lost("ZooKeeper session lost", true);
        }
    };

    /**
     * @param leaseMarginMs subtracted from the lease (0: automatic, see {@link LeasePremise})
     * @param onChange called when the lock is lost (the loop wakes up)
     */
    public LeaseKeeper(CuratorFramework client, ZkPaths paths, NodeId me, int configuredSessionTimeoutMs,
            int leaseMarginMs, DeadMansSwitch deadMansSwitch, Runnable onChange) {
        this.client = client;
        this.paths = paths;
        this.me = me;
        this.name = me.toString();
        this.configuredSessionTimeoutMs = configuredSessionTimeoutMs;
        this.premise = new LeasePremise(leaseMarginMs);
        this.deadMansSwitch = deadMansSwitch;
        this.onChange = onChange;
        this.renewals = new Thread(this::renewLoop, "zgres-lease-" + name);
        renewals.setDaemon(true);
    }

    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("cannot start a " + state.get() + " lease keeper");
        }
        client.getConnectionStateListenable().addListener(lostListener);
        renewals.start();
    }

    public State state() {
        return state.get();
    }

    /** @return the lease when we hold the lock (confirmed or not) */
    public Optional<Lease> current() {
        return Optional.ofNullable(lease.get());
    }

    /** @return true while we hold the lock with a lease that has not run out */
    public boolean valid() {
        Lease l = lease.get();
        return l != null && l.validAt(System.nanoTime());
    }

    /** @return the ZooKeeper session timeout the server granted (the configured one before connecting) */
    public long sessionTimeoutMs() {
        try {
            int t = client.getZookeeperClient().getZooKeeper().getSessionTimeout();
            if (t > 0) {
                return t;
            }
        } catch (Exception e) {
            // not connected yet
        }
        return configuredSessionTimeoutMs;
    }

    public long sessionId() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            return 0;
        }
    }

    /** Where the ensemble's tick time comes from ({@link zgres.zookeeper.Coordination#tickTimeMs}; 0: unknown). */
    public void tickSource(java.util.function.IntSupplier source) {
        premise.tickSource(source);
    }

    /** @return the margin: the configured one, or max(100 ms, T/10, tick/2 + the supervisor's polling) */
    long marginMs() {
        return premise.marginMs(sessionTimeoutMs());
    }

    /** @return why this node must not act as master, with the numbers, when a premise does not hold */
    public Optional<String> premiseProblem() {
        Optional<String> p = premise.problem(sessionTimeoutMs());
        String now = p.orElse("");
        if (!now.equals(reportedPremise)) {
            reportedPremise = now;
            p.ifPresent(x -> LOG.error("[{}] {}", name, x));
        }
        return p;
    }

    /** Lease length after a successful renewal sent at t: 2T/3 - margin (see the class comment). */
    long leaseNanos() {
        return TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMs() * 2 / 3 - marginMs());
    }

    /**
     * Who holds the lock, from this node's point of view: the holder is recognised by the znode's creating
     * transaction and session, not by its content.
     */
    public LockOwner owner(GroupState group) {
        Lease held = lease.get();
        Optional<MasterLock> lock = group.lock();
        if (lock.isEmpty()) {
            if (held != null && held.created() == seenInCache) {
                // the cache showed our lock and now shows none: someone deleted it (we only delete it after giving
                // the lease up) - check at once rather than at the next renewal, and fence if it is gone
                try {
                    Stat stat = client.checkExists().forPath(paths.lock(me.group()));
                    if (stat == null || stat.getCzxid() != held.created()) {
                        // (our session expired: the lock went with it)
                        lost("the lock was deleted by another client", sessionGone(held));
                        return LockOwner.NONE;
                    }
                } catch (Exception e) {
                    LOG.debug("[{}] could not check the lock: {}", name, e.toString());
                }
            }
            // the cache may not show a lock we just created yet
            return held != null ? LockOwner.MINE : LockOwner.NONE;
        }
        MasterLock l = lock.get();
        if (held != null && l.created() == held.created()) {
            seenInCache = held.created();
        }
        if (held != null && l.created() <= held.created()) {
            // ours, or an older lock the cache has not seen deleted yet (we created ours after it was gone)
            return LockOwner.MINE;
        }
        if (held != null && l.created() > held.created()) {
            lost("the lock was replaced");
        }
        if (l.holderUnknown()) {
            // owned by a session that publishes no node: nobody's lock; the election deletes it before taking it
            return LockOwner.NONE;
        }
        if (l.holder().equals(me)) {
            return l.session() == sessionId() ? LockOwner.MINE : LockOwner.MINE_STALE;
        }
        return LockOwner.OTHER;
    }

    // ------------------------------------------------------------------ taking and giving up

    /** Creates the lock; returns false when another node holds it. The lease is confirmed by the create itself. */
    public boolean tryTake() throws Exception {
        return tryTake(Optional.empty());
    }

    /**
     * Creates the lock, first deleting {@code foreign} - a lock owned by a session that publishes no node state -
     * when the lock is still exactly that one (same session, same creating transaction).
     */
    public boolean tryTake(Optional<MasterLock> foreign) throws Exception {
        return tryTake(foreign, false);
    }

    /**
     * @param serverChecked {@code foreign}'s holder publishes a /state, but its server answered with another system
     *        identifier than the group's (the lock is deleted even though a session publishes a node state)
     */
    public boolean tryTake(Optional<MasterLock> foreign, boolean serverChecked) throws Exception {
        if (premiseProblem().isPresent()) {
            return false;
        }
        if (!premise.tickKnown() && System.nanoTime() - createdAt < TimeUnit.MILLISECONDS.toNanos(TICK_WAIT_MS)) {
            // the first lease's margin covers the ensemble's tick once it is known: give the probe a moment
            if (!saidTickWait) {
                saidTickWait = true;
                LOG.info("[{}] not taking the lock before ZooKeeper's tick time is known (at most {} ms after start)",
                        name, TICK_WAIT_MS);
            }
            return false;
        }
        // a lock is recognised by the session publishing its node's /state: never take it before ours is published
        // by this very session (after a session change the old /state is gone until the loop publishes it again)
        Stat mine = client.checkExists().forPath(paths.state(me));
        if (mine == null || mine.getEphemeralOwner() != sessionId()) {
            LOG.info("[{}] not taking the lock before this session publishes our /state", name);
            return false;
        }
        if (foreign.isPresent()) {
            String path = paths.lock(me.group());
            Stat stat = client.checkExists().forPath(path);
            MasterLock f = foreign.get();
            if (stat != null && stat.getEphemeralOwner() == f.session() && stat.getCzxid() == f.created()
                    && (serverChecked || !publishesState(f.session()))) {
                try {
                    client.delete().withVersion(stat.getVersion()).forPath(path);
                    LOG.warn("[{}] deleted {}: owned by session 0x{}, {}; electing", name, path,
                            Long.toHexString(f.session()), serverChecked ? "whose server is not this group's"
                                    : "which publishes no node state (not a deadman's lock)");
                } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                    return false; // changed meanwhile: decide again
                }
            }
        }
        return create();
    }

    /** @return true when a node of our group publishes its /state from {@code session} (read now, not cached) */
    private boolean publishesState(long session) throws Exception {
        String prefix = me.group() + "_";
        for (String child : client.getChildren().forPath(paths.stateDir())) {
            if (child.startsWith(prefix)) {
                Stat s = client.checkExists().forPath(paths.stateDir() + "/" + child);
                if (s != null && s.getEphemeralOwner() == session) {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean create() throws Exception {
        long t0 = System.nanoTime();
        Stat stat = new Stat();
        try {
            client.create().storingStatIn(stat).creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                    .forPath(paths.lock(me.group()), Znodes.encodeLock(me));
        } catch (KeeperException.NodeExistsException e) {
            return false;
        }
        lease.set(new Lease(stat.getCzxid(), stat.getVersion(), stat.getEphemeralOwner(), 0));
        extend(t0);
        renewals.interrupt();
        LOG.info("[{}] took the lock {} (session 0x{})", name, paths.lock(me.group()),
                Long.toHexString(stat.getEphemeralOwner()));
        return true;
    }

    /** Deletes the lock (when we hold it) so that the group elects at once. */
    public void release(String reason) {
        Lease held = lease.getAndSet(null);
        if (held == null) {
            return;
        }
        try {
            client.delete().withVersion(versionIfOurs(held)).forPath(paths.lock(me.group()));
            LOG.info("[{}] released the lock: {}", name, reason);
        } catch (Exception e) {
            LOG.warn("[{}] could not delete the lock ({}): it goes when the session ends", name, e.toString());
        }
    }

    /**
     * Gives the lock up in one transaction with {@code ops} (a handover records the final position and deletes the
     * lock in one round trip).
     */
    public void releaseWith(String reason, CuratorOp... ops) throws Exception {
        Lease held = lease.getAndSet(null);
        if (held == null) {
            throw new IllegalStateException("not holding the lock");
        }
        CuratorOp[] all = java.util.Arrays.copyOf(ops, ops.length + 1);
        all[ops.length] = client.transactionOp().delete().withVersion(versionIfOurs(held))
                .forPath(paths.lock(me.group()));
        client.transaction().forOperations(all);
        LOG.info("[{}] released the lock: {}", name, reason);
    }

    /**
     * @return the lock's current version when it is still the one we created (our session, our creating
     *         transaction), else the version we knew (a delete or check with it then fails, as it must)
     */
    private int versionIfOurs(Lease held) throws Exception {
        Stat stat = client.checkExists().forPath(paths.lock(me.group()));
        if (stat != null && stat.getEphemeralOwner() == held.session() && stat.getCzxid() == held.created()) {
            return stat.getVersion();
        }
        return held.version();
    }

    /** @return a transaction operation that fails unless we still hold the lock (writes only a master may make) */
    public CuratorOp guard() throws Exception {
        Lease held = lease.get();
        if (held == null) {
            throw new IllegalStateException("not holding the lock");
        }
        return client.transactionOp().check().withVersion(versionIfOurs(held)).forPath(paths.lock(me.group()));
    }

    /** The lock is gone or no longer ours: forget it and fence PostgreSQL at once. */
    public void lost(String reason) {
        lost(reason, false);
    }

    /**
     * The lock is gone or no longer ours: forget it and fence PostgreSQL at once - unless it went with our session
     * (expired, or given up by the client after T without the ensemble) while the failsafe keeps PostgreSQL writable
     * because every promotable replica streams from it ({@link Failsafe}): then PostgreSQL runs on, and the loop takes
     * the lock again as soon as ZooKeeper lets it.
     */
    void lost(String reason, boolean sessionGone) {
        Lease held = lease.getAndSet(null);
        if (held != null) {
            if (sessionGone && failsafeHolds.getAsBoolean()) {
                LOG.warn("[{}] lost the master lock: {}; the failsafe keeps PostgreSQL writable while every promotable "
                        + "replica streams from it, and the lock is taken again as soon as ZooKeeper allows", name,
                        reason);
            } else {
                LOG.warn("[{}] lost the master lock: {}; fencing PostgreSQL now", name, reason);
                deadMansSwitch.fence("lost the lock: " + reason);
            }
        }
        onChange.run();
    }

    private volatile java.util.function.BooleanSupplier failsafeHolds = () -> false;

    /** Where the lease learns whether the failsafe keeps PostgreSQL writable now ({@link Failsafe#holding}). */
    public void failsafe(java.util.function.BooleanSupplier holds) {
        this.failsafeHolds = holds;
    }

    /** @return true when the client's session is no longer the one that held {@code held} */
    private boolean sessionGone(Lease held) {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionId() != held.session();
        } catch (Exception e) {
            return true;
        }
    }

    /** Deletes a lock naming us that an earlier session of ours left behind (PostgreSQL must not run as primary). */
    public void deleteStale() {
        try {
            Stat stat = new Stat();
            byte[] data = client.getData().storingStatIn(stat).forPath(paths.lock(me.group()));
            if (Znodes.decodeLock(me.group(), data).equals(me) && stat.getEphemeralOwner() != sessionId()) {
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

    /** Waits briefly (up to T/2) for the first lease confirmation after taking the lock. */
    public boolean awaitConfirmed() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMs() / 2);
        while (lease.get() != null && !valid() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return valid();
    }

    // ------------------------------------------------------------------ renewing

    private void renewLoop() {
        while (state.get() == State.STARTED) {
            Lease held = lease.get();
            long interval = Math.max(50, sessionTimeoutMs() / 6);
            if (held == null) {
                // nothing to renew: taking the lock interrupts this sleep (an interrupt that comes first makes the
                // sleep return at once), so an idle replica's thread wakes every T/6, not 20 times a second
                pause(interval);
                continue;
            }
            long t0 = System.nanoTime();
            renew(held, t0);
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            pause(Math.max(10, interval - elapsed));
        }
    }

    /** Sleeps; an interrupt only cuts the sleep short (taking the lock renews at once). */
    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            // woken early on purpose
        }
    }

    private void renew(Lease held, long t0) {
        try {
            if (client.getZookeeperClient().getZooKeeper().getSessionId() != held.session()) {
                lost("ZooKeeper session changed", true);
                return;
            }
            // a quorum round trip of our session (the lease's premise), then whose the lock is: by its session and
            // creating transaction, never by its content or version - someone rewriting it (same bytes, garbage)
            // neither takes it from us nor makes us give it up
            String lock = paths.lock(me.group());
            client.transaction().forOperations(client.transactionOp().check().forPath(lock));
            Stat stat = client.checkExists().forPath(lock);
            if (stat == null || stat.getEphemeralOwner() != held.session() || stat.getCzxid() != held.created()) {
                if (lease.get() == held) {
                    lost("the lock was deleted or replaced");
                }
                return;
            }
            if (stat.getVersion() != held.version()) {
                LOG.warn("[{}] {} was rewritten by another client (version {} -> {}): ignored, it is ours by session",
                        name, lock, held.version(), stat.getVersion());
                lease.updateAndGet(l -> l == held ? l.withVersion(stat.getVersion()) : l);
            }
            extend(t0);
        } catch (KeeperException.NoNodeException e) {
            if (lease.get() == held) {
                lost("the lock was deleted or replaced");
            }
        } catch (KeeperException.SessionExpiredException e) {
            lost("ZooKeeper session expired", true);
        } catch (Exception e) {
            if (lease.get() != null && !valid()) {
                LOG.debug("[{}] lease renewal failed: {}", name, e.toString());
            }
        }
    }

    /** A renewal (or the create) sent at {@code sentAt} succeeded: move the deadline and tell the supervisor. */
    private void extend(long sentAt) {
        long end = sentAt + leaseNanos();
        Lease before = lease.get();
        if (before == null || end <= before.endNanos()) {
            return;
        }
        Lease after = lease.updateAndGet(l -> l != null && l.created() == before.created() && end > l.endNanos()
                ? l.extendedTo(end) : l);
        if (after != null && after.endNanos() == end) {
            deadMansSwitch.keepalive(end);
        }
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.CLOSED) {
            client.getConnectionStateListenable().removeListener(lostListener);
            renewals.interrupt();
        }
    }
}
