package zgres.deadman.lease;

import java.io.Closeable;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.SyncMode;
import zgres.deadman.pg.LocalConnection;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.Supervisor;

/**
 * Keeps a master writable through a ZooKeeper outage, safely, through the one other channel that knows who the
 * master is: the replication stream ({@code failsafe}, group-wide).
 *
 * <h2>The rule</h2>
 * <ul>
 * <li><b>Replica side</b> ({@link #replicaWaitMs}): a replica never takes the lock (election, or a manual failover
 * without a handover) while it heard from its upstream within δ = {@code wal_receiver_timeout} in effect +
 * {@link #REPLY_MS} + {@link #STEP_MS} + {@link #MARGIN_MS} (6 s with the {@value #RECEIVER_TIMEOUT_MS} ms the
 * deadman sets: no more than the default session timeout, so a failover after a master's death waits no longer). A walreceiver that has not heard from its sender for {@code wal_receiver_timeout} exits, and only a
 * running walreceiver replies: so a replica's last reply to the master is at most {@code wal_receiver_timeout} after
 * it last heard from it.
 * <li><b>Master side</b> ({@link #check}): when the lease is not valid (ZooKeeper cannot confirm a renewal, or the
 * session was lost with the lock), the master moves its dead man's switch to now + {@link #STEP_MS}, only while the
 * chain of deadlines is unbroken and every replica that could be promoted - every other member of the last snapshot
 * not tagged {@code nofailover}, in synchronous mode every {@code /sync} member - publishes that it runs the failsafe
 * and replied on its replication connection within {@link #REPLY_MS} ({@code pg_stat_replication.reply_time}, the
 * replica's send time), and there is at least one. Otherwise the switch fences at the lease's end, as without the
 * failsafe.
 * <li>Timing: a replica R that last heard from the master at h sends its last reply at r ≤ h + {@code
 * wal_receiver_timeout}; the master extends at e only with a reply sent at ≥ e − REPLY_MS, so e ≤ r + REPLY_MS, and is
 * writable until at most e + STEP_MS ≤ h + {@code wal_receiver_timeout} + REPLY_MS + STEP_MS; R takes the lock no
 * earlier than h + δ, MARGIN_MS later (the supervisor's 50 ms polling, the kill, scheduling, clock skew between the
 * hosts, which must stay well under it). A replica that still hears from the master never takes the lock, so the
 * master takes it again when ZooKeeper returns.
 * </ul>
 */
public final class Failsafe implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Failsafe.class);

    /** δ': a master extends only while every promotable replica replied within this */
    public static final long REPLY_MS = 3000;
    /** how far one extension moves the dead man's switch */
    public static final long STEP_MS = 1000;
    /** covers the supervisor's polling, the kill, scheduling and clock skew between hosts */
    public static final long MARGIN_MS = 500;
    /** {@code wal_receiver_timeout} the deadman sets while the failsafe is on (the replica pings at half of it) */
    public static final long RECEIVER_TIMEOUT_MS = 1500;
    /** how often the master checks */
    static final long CHECK_MS = 200;

    /** @return δ: how long a replica must not have heard from its upstream before it may take the lock */
    public static long quietMs(long receiverTimeoutMs) {
        return receiverTimeoutMs + REPLY_MS + STEP_MS + MARGIN_MS;
    }

    private final NodeId me;
    private final String name;
    private final PgNode pg;
    private final LeaseKeeper lease;
    private final BooleanSupplier enabled;
    private final Supplier<Optional<GroupState>> group;
    private final Supplier<SyncMode> syncMode;
    private final LocalConnection jdbc;
    private final Thread thread;
    private volatile boolean running = true;
    /** until when ({@link System#nanoTime()}) the last extension keeps PostgreSQL writable */
    private volatile long holdingUntil;
    private String said = "";
    private long holdingSince;

    // replica side (the loop thread)
    private long lastHeard = Long.MIN_VALUE;
    private boolean receiverSeen;

    public Failsafe(NodeId me, PgNode pg, LeaseKeeper lease, BooleanSupplier enabled,
            Supplier<Optional<GroupState>> group, Supplier<SyncMode> syncMode) {
        this.me = me;
        this.name = me.toString();
        this.pg = pg;
        this.lease = lease;
        this.enabled = enabled;
        this.group = group;
        this.syncMode = syncMode;
        PgNode.Spec s = pg.spec();
        this.jdbc = new LocalConnection(s.host(), s.port(), s.dbname(), s.superuser(), s.superuserPassword());
        this.thread = new Thread(this::run, "zgres-failsafe-" + name);
        this.thread.setDaemon(true);
        lease.failsafe(this::holding);
    }

    public void start() {
        thread.start();
    }

    /** @return true while an extension keeps PostgreSQL writable without a valid lease */
    public boolean holding() {
        return System.nanoTime() < holdingUntil;
    }

    // ------------------------------------------------------------------ replica side

    /**
     * Samples when this standby last heard from its upstream ({@code pg_stat_wal_receiver.last_msg_receipt_time});
     * a walreceiver that is gone may have heard until the moment it went, so that moment counts.
     *
     * @return how long this replica must still wait before it may take the lock (0: it may)
     */
    public long replicaWaitMs() {
        if (!enabled.getAsBoolean()) {
            return 0;
        }
        long now = System.nanoTime();
        long receiverTimeout = RECEIVER_TIMEOUT_MS;
        try {
            List<List<String>> rows = pg.jdbc().query("SELECT (extract(epoch FROM now() - r.last_msg_receipt_time) "
                    + "* 1000)::bigint, (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_receiver_timeout') "
                    + "FROM (SELECT 1) one LEFT JOIN pg_stat_get_wal_receiver() r ON r.pid IS NOT NULL", 5);
            receiverTimeout = Math.max(0, Long.parseLong(rows.get(0).get(1)));
            String ago = rows.get(0).get(0);
            if (ago != null) {
                lastHeard = Math.max(lastHeard, now - TimeUnit.MILLISECONDS.toNanos(Math.max(0, Long.parseLong(ago))));
                receiverSeen = true;
            } else if (receiverSeen) {
                lastHeard = Math.max(lastHeard, now); // it heard at most until now
                receiverSeen = false;
            }
        } catch (SQLException | RuntimeException e) {
            // cannot tell: count as heard now (never take the lock on a guess)
            lastHeard = now;
        }
        if (receiverTimeout <= 0) {
            receiverTimeout = 60_000; // 0 disables the timeout: the walreceiver may live on; wait long
        }
        if (lastHeard == Long.MIN_VALUE) {
            return 0;
        }
        long quietFor = TimeUnit.NANOSECONDS.toMillis(now - lastHeard);
        return Math.max(0, quietMs(receiverTimeout) - quietFor);
    }

    // ------------------------------------------------------------------ master side

    private void run() {
        while (running) {
            try {
                check();
            } catch (RuntimeException e) {
                LOG.error("[{}] failsafe check failed: {}", name, e.toString(), e);
            }
            try {
                Thread.sleep(CHECK_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One check: extends the dead man's switch when the rule allows it. */
    void check() {
        Optional<Supervisor> sup = pg.supervisor();
        long now = System.nanoTime();
        boolean valid = lease.valid();
        if (valid && holdingSince != 0) {
            say("", "[{}] failsafe: the lease is renewed again after {} ms without it", name,
                    TimeUnit.NANOSECONDS.toMillis(now - holdingSince));
            holdingSince = 0;
        }
        if (!enabled.getAsBoolean() || sup.isEmpty() || !sup.get().isArmed() || !sup.get().running()) {
            holdingSince = 0;
            return;
        }
        long deadline = sup.get().lastDeadline();
        if (valid && deadline - now > TimeUnit.MILLISECONDS.toNanos(STEP_MS + CHECK_MS)) {
            return; // renewals keep the switch far enough ahead
        }
        if (now > deadline - TimeUnit.MILLISECONDS.toNanos(60)) {
            return; // the chain of deadlines is broken: the switch fences (never revived)
        }
        Optional<String> refusal = refusal();
        if (refusal.isPresent()) {
            say("refused:" + refusal.get().replaceAll("[0-9]+ ms", ""), "[{}] failsafe: {} ({}): PostgreSQL is fenced "
                    + "when its lease ends unless a renewal succeeds first", name, valid ? "a renewal is late and the "
                            + "failsafe would not extend" : "not extending", refusal.get());
            return;
        }
        long until = now + TimeUnit.MILLISECONDS.toNanos(STEP_MS);
        if (sup.get().extendTo(until)) {
            holdingUntil = until;
        }
        if (valid) {
            return; // a renewal is late, not missing: say nothing yet
        }
        if (holdingSince == 0) {
            holdingSince = now;
        }
        say("holding", "[{}] failsafe: no lease (ZooKeeper cannot confirm a renewal), and every promotable replica "
                + "replied within {} ms: keeping PostgreSQL writable, {} ms at a time", name, REPLY_MS, STEP_MS);
    }

    /** @return why the master may not extend now, or empty */
    private Optional<String> refusal() {
        Optional<GroupState> g = group.get();
        if (g.isEmpty()) {
            return Optional.of("no snapshot of the group");
        }
        List<NodeId> promotable = new ArrayList<>();
        boolean sync = syncMode.get() != SyncMode.OFF;
        for (NodeState st : g.get().states().values()) {
            if (st.id().equals(me) || st.tags().nofailover()) {
                continue;
            }
            if (sync && !g.get().sync().standbys().contains(st.id().toString())) {
                continue;
            }
            if (!Boolean.TRUE.equals(st.metadata().get("failsafe"))) {
                return Optional.of(st.id().address() + " does not run the failsafe");
            }
            promotable.add(st.id());
        }
        if (promotable.isEmpty()) {
            // a member this master does not know (started while it cannot read ZooKeeper) could be the best candidate
            // when no replica it knows streams from it: no failsafe without one
            return Optional.of("no promotable replica streams from it");
        }
        Map<String, Long> replied = new HashMap<>();
        try {
            for (List<String> r : jdbc.query("SELECT application_name, (extract(epoch FROM now() - reply_time) * 1000)"
                    + "::bigint FROM pg_stat_replication WHERE reply_time IS NOT NULL", 2)) {
                replied.merge(r.get(0), Long.parseLong(r.get(1)), Math::min);
            }
        } catch (SQLException | RuntimeException e) {
            return Optional.of("cannot read pg_stat_replication: " + e.getMessage());
        }
        for (NodeId p : promotable) {
            Long ms = replied.get(p.toString());
            if (ms == null || ms > REPLY_MS || ms < -MARGIN_MS) {
                return Optional.of(p.address() + (ms == null ? " is not streaming from it" : " last replied " + ms
                        + " ms ago (more than " + REPLY_MS + ")"));
            }
        }
        return Optional.empty();
    }

    private void say(String key, String format, Object... args) {
        if (!key.equals(said)) {
            said = key;
            if (!format.isEmpty()) {
                LOG.warn(format, args);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        jdbc.close();
    }
}
