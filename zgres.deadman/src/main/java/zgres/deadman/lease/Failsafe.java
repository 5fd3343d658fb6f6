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
import zgres.api.metrics.MetricSource;
import zgres.api.metrics.MetricWriter;
import zgres.deadman.pg.LocalConnection;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.Supervisor;

/**
 * Keeps a master writable through a ZooKeeper outage, safely, through the one other channel that knows who the
 * master is: the replication stream ({@code failsafe}, group-wide).
 *
 * <h2>The rule</h2>
 * <ul>
 * <li><b>Replica side</b> ({@link #replicaWaitMs}, sampled every {@value #CHECK_MS} ms by this thread,
 * {@link #sampleReplica}): a replica never takes the lock (election, or a manual failover without a handover) while
 * its walreceiver is connected, nor until {@link #goneMs} = {@link #REPLY_MS} + {@link #STEP_MS} + {@link #MARGIN_MS}
 * (4.5 s) after the first sample that found it gone. A walreceiver that has not heard from its sender for {@code
 * wal_receiver_timeout} exits, so that is at the latest δ = {@code wal_receiver_timeout} + 4.5 s (6 s with the
 * {@value #RECEIVER_TIMEOUT_MS} ms the deadman sets: the default session timeout) after it last heard from it.
 * <li><b>Master side</b> ({@link #check}): when the lease is not valid (ZooKeeper cannot confirm a renewal, or the
 * session was lost with the lock), the master moves its dead man's switch to now + {@link #STEP_MS}, only while the
 * chain of deadlines is unbroken and every replica that could be promoted - every other member of the last snapshot
 * not tagged {@code nofailover}, in synchronous mode every {@code /sync} member - publishes that it runs the failsafe
 * and replied on its replication connection within {@link #REPLY_MS} ({@code pg_stat_replication.reply_time}, the
 * replica's send time) at least {@value #CONNECTED_MS} ms after its connection began (so the replica's samples saw
 * that walreceiver), and there is at least one. Otherwise the switch fences at the lease's end, as without the
 * failsafe.
 * <li>Timing: only a connected walreceiver replies, so a replica R's last reply is sent before the first sample that
 * finds its walreceiver gone, at g; the master extends at e only with a reply sent at ≥ e − REPLY_MS, so e ≤ g +
 * REPLY_MS, and is writable until at most e + STEP_MS ≤ g + REPLY_MS + STEP_MS; R takes the lock no earlier than
 * MARGIN_MS later (the supervisor's 50 ms polling, the kill, scheduling, clock skew between the hosts, which must stay
 * well under it). A replica that still hears from the master never takes the lock, so the master takes it again when
 * ZooKeeper returns.
 * </ul>
 */
public final class Failsafe implements Closeable, MetricSource {
    private static final Logger LOG = LoggerFactory.getLogger(Failsafe.class);

    /** δ': a master extends only while every promotable replica replied within this */
    public static final long REPLY_MS = 3000;
    /** how far one extension moves the dead man's switch */
    public static final long STEP_MS = 1000;
    /** covers the supervisor's polling, the kill, scheduling and clock skew between hosts */
    public static final long MARGIN_MS = 500;
    /** {@code wal_receiver_timeout} the deadman sets while the failsafe is on (the replica pings at half of it) */
    public static final long RECEIVER_TIMEOUT_MS = 1500;
    /** how often the master checks and a replica samples its walreceiver */
    static final long CHECK_MS = 200;
    /** samples further apart than this (the thread stalled) count as "not looking" */
    static final long SAMPLE_GAP_MS = 700;
    /** a master counts no reply sent within this of its connection's start (longer than {@link #SAMPLE_GAP_MS}) */
    static final long CONNECTED_MS = 1000;

    /** @return δ: how long a replica must not have heard from its upstream before it may take the lock */
    public static long quietMs(long receiverTimeoutMs) {
        return receiverTimeoutMs + goneMs();
    }

    /** @return how long a replica waits after it saw its walreceiver gone: δ' + step + margin */
    public static long goneMs() {
        return REPLY_MS + STEP_MS + MARGIN_MS;
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
    /** extensions made while the lease was not valid */
    private final java.util.concurrent.atomic.AtomicLong extensions = new java.util.concurrent.atomic.AtomicLong();

    // replica side (the failsafe thread samples, the loop reads)
    /** until when ({@link System#nanoTime()}) the walreceivers seen gone keep this replica from taking the lock */
    private volatile long settledUntil = Long.MIN_VALUE;
    /** the same for the walreceiver running at the last sample ({@link Long#MIN_VALUE}: none) */
    private volatile long runningUntil = Long.MIN_VALUE;
    /** when the last sample was taken (0: none yet) */
    private volatile long sampledAt;

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
     * @return how long this replica must still wait before it may take the lock (0: it may); while the samples are
     *         late (the thread stalled) it waits
     */
    public long replicaWaitMs() {
        if (!enabled.getAsBoolean()) {
            return 0;
        }
        long now = System.nanoTime();
        if (sampledAt == 0 || now - sampledAt > TimeUnit.MILLISECONDS.toNanos(SAMPLE_GAP_MS)) {
            return SAMPLE_GAP_MS; // not looking: a walreceiver may have come and gone unseen
        }
        long until = Math.max(settledUntil, runningUntil);
        return until == Long.MIN_VALUE ? 0 : Math.max(0, TimeUnit.NANOSECONDS.toMillis(until - now));
    }

    /**
     * One sample of this standby's walreceiver ({@code pg_stat_get_wal_receiver()}: connected once it shows its
     * {@code sender_host}; one still connecting - to a host that does not answer, for up to {@code connect_timeout} -
     * has replied to nobody and counts as gone), every {@link #CHECK_MS}:
     * <ul>
     * <li>running, last heard from its upstream at h: its replies may go on until h + {@code wal_receiver_timeout},
     * and went on until now, so the replica waits until max(h + δ ({@link #quietMs}), now + δ' + step + margin);
     * <li>gone, when it ran at the previous sample (or samples were more than {@link #SAMPLE_GAP_MS} apart, or the
     * previous one failed): its last reply was sent before now, so the replica waits until now + δ' + step + margin
     * ({@link #goneMs}), and no longer for what the running walreceiver allowed. A walreceiver that came and went
     * between two samples lived less than {@link #SAMPLE_GAP_MS}: the master counts no reply sent in the first
     * {@link #CONNECTED_MS} of a connection, so none of its replies counted;
     * <li>cannot tell (PostgreSQL running, the query failed): as if running and heard now.
     * </ul>
     */
    void sampleReplica() {
        long now = System.nanoTime();
        long previous = sampledAt;
        boolean late = previous == 0 || now - previous > TimeUnit.MILLISECONDS.toNanos(SAMPLE_GAP_MS);
        long gone = now + TimeUnit.MILLISECONDS.toNanos(goneMs());
        Long heardAgoMs = null;
        long receiverTimeout = RECEIVER_TIMEOUT_MS;
        boolean running;
        try {
            List<List<String>> rows = jdbc.query("SELECT pg_is_in_recovery(), (extract(epoch FROM now() - "
                    + "r.last_msg_receipt_time) * 1000)::bigint, (SELECT setting::bigint FROM pg_settings WHERE name "
                    + "= 'wal_receiver_timeout') FROM (SELECT 1) one LEFT JOIN pg_stat_get_wal_receiver() r ON r.pid "
                    + "IS NOT NULL AND r.sender_host IS NOT NULL", 5);
            if (!"t".equals(rows.get(0).get(0))) {
                settledUntil = Long.MIN_VALUE; // a master: nothing to wait for; a later demotion samples afresh
                runningUntil = Long.MIN_VALUE;
                sampledAt = now;
                return;
            }
            receiverTimeout = Long.parseLong(rows.get(0).get(2));
            String ago = rows.get(0).get(1);
            running = ago != null;
            heardAgoMs = running ? Math.max(0, Long.parseLong(ago)) : null;
        } catch (SQLException | RuntimeException e) {
            running = pg.supervisor().map(Supervisor::running).orElse(false); // not running: no walreceiver replies
            heardAgoMs = running ? 0L : null;
        }
        if (running) {
            long heard = now - TimeUnit.MILLISECONDS.toNanos(heardAgoMs);
            long quiet = TimeUnit.MILLISECONDS.toNanos(quietMs(receiverTimeout <= 0 ? 60_000 : receiverTimeout));
            runningUntil = Math.max(heard + quiet, gone);
            if (late) {
                settledUntil = later(settledUntil, gone); // another may have come and gone unseen
            }
        } else {
            if (runningUntil != Long.MIN_VALUE || late) {
                settledUntil = later(settledUntil, gone);
            }
            runningUntil = Long.MIN_VALUE;
        }
        sampledAt = now;
    }

    private static long later(long a, long b) {
        return a == Long.MIN_VALUE || b - a > 0 ? b : a;
    }

    // ------------------------------------------------------------------ master side

    private void run() {
        while (running) {
            try {
                Optional<Supervisor> sup = pg.supervisor();
                if (enabled.getAsBoolean() && (sup.isEmpty() || !sup.get().isArmed())) {
                    sampleReplica();
                }
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
            if (!valid) {
                extensions.incrementAndGet();
            }
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
            // a reply counts only from a connection older than CONNECTED_MS: its walreceiver lived long enough for the
            // replica's samples to see it (sampleReplica)
            for (List<String> r : jdbc.query("SELECT application_name, (extract(epoch FROM now() - reply_time) * 1000)"
                    + "::bigint FROM pg_stat_replication WHERE reply_time >= backend_start + interval '" + CONNECTED_MS
                    + " milliseconds'", 2)) {
                replied.merge(r.get(0), Long.parseLong(r.get(1)), Math::min);
            }
        } catch (SQLException | RuntimeException e) {
            return Optional.of("cannot read pg_stat_replication: " + e.getMessage());
        }
        for (NodeId p : promotable) {
            Long ms = replied.get(p.toString());
            if (ms == null || ms > REPLY_MS || ms < -MARGIN_MS) {
                return Optional.of(p.address() + (ms == null ? " is not streaming from it (for " + CONNECTED_MS
                        + " ms)" : " last replied " + ms
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
    public void collect(MetricWriter out) {
        String group = me.group();
        boolean on = enabled.getAsBoolean();
        out.gauge("zgres_failsafe_enabled", "The failsafe is on for this node", on ? 1 : 0, "group", group, "node",
                name);
        out.gauge("zgres_failsafe_holding", "1 while the failsafe keeps this master's PostgreSQL writable without a "
                + "lease", holding() ? 1 : 0, "group", group, "node", name);
        out.counter("zgres_failsafe_extensions_total", "Extensions of the dead man's switch the failsafe made "
                + "without a lease", extensions.get(), "group", group, "node", name);
        if (on && !pg.supervisor().map(Supervisor::isArmed).orElse(false)) {
            out.gauge("zgres_failsafe_replica_wait_seconds", "How long this replica must still wait before it may "
                    + "take the lock (it heard from its master recently)", replicaWaitMs() / 1000.0, "group", group,
                    "node", name);
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        jdbc.close();
    }
}
