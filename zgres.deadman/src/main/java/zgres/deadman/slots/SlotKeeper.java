package zgres.deadman.slots;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.metrics.MetricSource;
import zgres.api.metrics.MetricWriter;
import zgres.deadman.pg.AutoConf;
import zgres.deadman.pg.PgNode;

/**
 * The physical replication slots of a group's members, kept by its master (slots are not replicated: each master
 * keeps its own). Every member in {@code /state} has one ({@link SlotName}), created when it appears; a member gone
 * from {@code /state} keeps it for {@link SlotPolicy#dropAfterMs} while nothing streams through it; PostgreSQL's
 * {@code max_slot_wal_keep_size} bounds the WAL all slots hold back, and a slot it invalidated is dropped (and made
 * again for a member still there). A node about to be promoted creates its members' slots first
 * ({@link #beforePromotion}), so that no replica following it finds its slot missing; a standby drops the slots left
 * from a time it was master (on a standby they would hold WAL back too). Each change is logged and counted.
 * Runs on the deadman's loop.
 */
public final class SlotKeeper implements MetricSource {
    private static final Logger LOG = LoggerFactory.getLogger(SlotKeeper.class);
    private static final long STANDBY_CHECK_NS = TimeUnit.SECONDS.toNanos(10);

    private final NodeId me;
    private final String name;
    private final PgNode pg;
    private final java.util.function.Supplier<SlotPolicy> policy;
    /** slot -> when it was first seen without a member in /state ({@link System#nanoTime()}) */
    private final Map<String, Long> goneSince = new HashMap<>();
    /** slots reported past half the bound (one WARN per crossing) */
    private final Set<String> warnedHalf = new HashSet<>();
    private final Map<String, AtomicLong> dropped = new ConcurrentHashMap<>();
    private final AtomicLong created = new AtomicLong();
    /** slot -> bytes it holds back, as last seen by the master */
    private volatile Map<String, Long> retained = Map.of();
    private volatile long boundBytes;
    private long standbyCheckedAt;

    public SlotKeeper(NodeId me, PgNode pg, java.util.function.Supplier<SlotPolicy> policy) {
        this.me = me;
        this.name = me.toString();
        this.pg = pg;
        this.policy = policy;
    }

    /** One slot of the master as PostgreSQL reports it. */
    record Slot(String name, boolean active, Lsn restart, String walStatus) {}

    /**
     * The master's step: creates the slots of members that lack one, drops those of members gone long enough and
     * those PostgreSQL invalidated, keeps {@code max_slot_wal_keep_size} at the bound.
     */
    public void onMaster(GroupState group) throws SQLException {
        SlotPolicy policy = this.policy.get();
        Map<String, NodeId> wanted = policy.enabled() ? wanted(group) : Map.of();
        List<List<String>> rows = pg.jdbc().query("SELECT s.slot_name, s.active, s.restart_lsn::text, s.wal_status, "
                + "pg_current_wal_lsn()::text, (SELECT setting FROM pg_settings WHERE name = "
                + "'max_slot_wal_keep_size') FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_type = "
                + "'physical'", 5);
        Lsn current = Lsn.parse(rows.get(0).get(4));
        long boundMb = Long.parseLong(rows.get(0).get(5));
        if (boundMb != policy.maxWalKeepMb()) {
            pg.jdbc().execute("ALTER SYSTEM SET max_slot_wal_keep_size = " + AutoConf.quote(policy.maxWalKeepMb()
                    + "MB"), 10);
            pg.jdbc().execute("SELECT pg_reload_conf()", 10);
            LOG.info("[{}] max_slot_wal_keep_size {} -> {} MB: the WAL replication slots may hold back", name,
                    boundMb < 0 ? "unlimited" : boundMb + " MB", policy.maxWalKeepMb());
        }
        boundBytes = policy.maxWalKeepMb() << 20;
        Map<String, Slot> slots = new TreeMap<>();
        for (List<String> r : rows) {
            if (r.get(0) != null && SlotName.managed(r.get(0))) {
                slots.put(r.get(0), new Slot(r.get(0), "t".equals(r.get(1)) || "true".equals(r.get(1)),
                        r.get(2) == null ? Lsn.ZERO : Lsn.parse(r.get(2)), r.get(3) == null ? "" : r.get(3)));
            }
        }
        long now = System.nanoTime();
        Map<String, Long> held = new TreeMap<>();
        for (Slot s : slots.values()) {
            NodeId member = wanted.get(s.name());
            if (s.walStatus().equals("lost")) {
                drop(s.name(), "wal_bound", "its member " + (member == null ? "(gone)" : member.address()) + " fell "
                        + "more than max_slot_wal_keep_size = " + policy.maxWalKeepMb() + " MB behind: PostgreSQL "
                        + "invalidated it; the member catches up from the WAL archive if there is one, else it is "
                        + "cloned again");
                continue;
            }
            if (member == null) {
                if (s.active()) {
                    goneSince.remove(s.name()); // its replica streams: its deadman may be down, PostgreSQL is not
                } else {
                    long since = goneSince.computeIfAbsent(s.name(), k -> now);
                    long goneMs = TimeUnit.NANOSECONDS.toMillis(now - since);
                    if (!policy.enabled()) {
                        drop(s.name(), "disabled", "replication_slots is off");
                        continue;
                    }
                    if (goneMs >= policy.dropAfterMs()) {
                        drop(s.name(), "gone", "no member of " + me.group() + " has had it for " + goneMs / 1000
                                + " s (slot_drop_after_s = " + policy.dropAfterMs() / 1000 + ")");
                        continue;
                    }
                }
            } else {
                goneSince.remove(s.name());
            }
            long bytes = s.restart().equals(Lsn.ZERO) ? 0 : Math.max(0, current.bytesAfter(s.restart()));
            held.put(s.name(), bytes);
            if (bytes > boundBytes / 2 && warnedHalf.add(s.name())) {
                LOG.warn("[{}] replication slot {} holds back {} MB of WAL, more than half of max_slot_wal_keep_size "
                        + "= {} MB: {} is not consuming it", name, s.name(), bytes >> 20, policy.maxWalKeepMb(),
                        member == null ? "a member that left" : member.address());
            } else if (bytes < boundBytes / 4) {
                warnedHalf.remove(s.name());
            }
        }
        goneSince.keySet().retainAll(slots.keySet());
        warnedHalf.retainAll(held.keySet());
        retained = Map.copyOf(held);
        List<String> missing = new ArrayList<>();
        wanted.forEach((slot, member) -> {
            Slot s = slots.get(slot);
            if (s == null || s.walStatus().equals("lost")) {
                missing.add(slot);
            }
        });
        if (!missing.isEmpty()) {
            try {
                create(missing, wanted);
                lastCreateError = "";
            } catch (SQLException e) {
                if (!String.valueOf(e.getMessage()).equals(lastCreateError)) {
                    lastCreateError = String.valueOf(e.getMessage());
                    LOG.warn("[{}] could not create the replication slots {}: {} (trying again every cycle)", name,
                            missing, e.getMessage());
                }
            }
        }
    }

    /**
     * Before {@code pg_promote()}: creates the slots of the group's other members on this standby (one statement,
     * milliseconds), so that they exist when the replicas follow the new master. A failure is logged and does not
     * stop the promotion (the master's step creates them a cycle later).
     */
    public void beforePromotion(GroupState group) {
        SlotPolicy policy = this.policy.get();
        if (!policy.enabled()) {
            return;
        }
        Map<String, NodeId> wanted = wanted(group);
        if (wanted.isEmpty()) {
            return;
        }
        try {
            create(new ArrayList<>(wanted.keySet()), wanted);
        } catch (SQLException e) {
            LOG.warn("[{}] could not create the members' replication slots before promoting ({}): the master "
                    + "creates them after", name, e.getMessage());
        }
    }

    /**
     * A standby's step (every 10 s): drops the slots left from a time this node was master, and points its own
     * walreceiver at its slot on the master ({@code primary_slot_name}).
     */
    public void onStandby() throws SQLException {
        long now = System.nanoTime();
        if (now - standbyCheckedAt < STANDBY_CHECK_NS) {
            return;
        }
        standbyCheckedAt = now;
        retained = Map.of();
        List<List<String>> rows = pg.jdbc().query("SELECT current_setting('primary_slot_name'), s.slot_name, "
                + "s.active, pg_is_in_recovery() FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON "
                + "s.slot_type = 'physical'", 5);
        if (!"t".equals(rows.get(0).get(3)) && !"true".equals(rows.get(0).get(3))) {
            // promoted since the loop looked (the slots it just made for its members stay)
            standbyCheckedAt = 0;
            return;
        }
        for (List<String> r : rows) {
            if (r.get(1) != null && SlotName.managed(r.get(1)) && !("t".equals(r.get(2)) || "true".equals(r.get(2)))) {
                drop(r.get(1), "standby", "this node is a standby now: a slot here would hold WAL back for nobody");
            }
        }
        String want = slotName();
        if (!want.equals(rows.get(0).get(0))) {
            pg.jdbc().execute("ALTER SYSTEM SET primary_slot_name = " + AutoConf.quote(want), 10);
            pg.jdbc().execute("SELECT pg_reload_conf()", 10);
            LOG.info("[{}] primary_slot_name '{}' -> '{}'", name, rows.get(0).get(0), want);
        }
    }

    /** @return the slot this node streams through, or "" when slots are off */
    public String slotName() {
        return policy.get().enabled() ? SlotName.of(me) : "";
    }

    /**
     * @return the slots the group's members need: every other node in {@code /state} that is, or may become, a
     *         copy of this group (its system identifier unknown yet, or the group's db-id); at most {@link #MAX_SLOTS}
     */
    private Map<String, NodeId> wanted(GroupState group) {
        Map<String, NodeId> w = new TreeMap<>();
        for (zgres.api.NodeState st : group.states().values()) {
            NodeId n = st.id();
            boolean ours = st.systemId().isEmpty() || group.dbId().isEmpty() || st.systemId().equals(group.dbId());
            if (!n.equals(me) && ours && w.size() < MAX_SLOTS) {
                w.put(SlotName.of(n), n);
            }
        }
        return w;
    }

    /**
     * The most member slots zgres keeps: {@code max_replication_slots} is 10 and pg_basebackup needs a temporary one
     * per clone; a flood of forged {@code /state} znodes cannot take every slot, nor hold more than the bound.
     */
    static final int MAX_SLOTS = 8;
    private String lastCreateError = "";

    private void create(List<String> slots, Map<String, NodeId> members) throws SQLException {
        StringBuilder arr = new StringBuilder();
        for (String s : slots) {
            arr.append(arr.length() == 0 ? "" : ",").append(AutoConf.quote(s));
        }
        // reserve WAL from now (immediately_reserve): a member that follows finds what it needs from here on
        List<List<String>> made = pg.jdbc().query("SELECT (pg_create_physical_replication_slot(s, true)).slot_name "
                + "FROM unnest(ARRAY[" + arr + "]::text[]) s WHERE s NOT IN (SELECT slot_name FROM "
                + "pg_replication_slots)", 10);
        for (List<String> r : made) {
            created.incrementAndGet();
            LOG.info("[{}] created replication slot {} for member {}", name, r.get(0), members.get(r.get(0))
                    .address());
        }
    }

    private void drop(String slot, String reason, String why) throws SQLException {
        List<List<String>> gone = pg.jdbc().query("SELECT slot_name, pg_drop_replication_slot(slot_name) FROM "
                + "pg_replication_slots WHERE slot_name = " + AutoConf.quote(slot) + " AND NOT active", 10);
        if (gone.isEmpty()) {
            return; // it became active (its member streams again) or someone else dropped it
        }
        goneSince.remove(slot);
        warnedHalf.remove(slot);
        dropped.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
        LOG.warn("[{}] dropped replication slot {}: {}", name, slot, why);
    }

    @Override
    public void collect(MetricWriter out) {
        String group = me.group();
        String node = name;
        retained.forEach((slot, bytes) -> out.gauge("zgres_replication_slot_retained_bytes", "WAL a member's "
                + "replication slot holds back on the master", bytes, "group", group, "node", node, "slot", slot));
        if (boundBytes > 0) {
            out.gauge("zgres_replication_slot_bound_bytes", "max_slot_wal_keep_size: a slot holding back more is "
                    + "invalidated", boundBytes, "group", group, "node", node);
        }
        out.counter("zgres_replication_slots_created_total", "Replication slots this node created for members",
                created.get(), "group", group, "node", node);
        dropped.forEach((reason, n) -> out.counter("zgres_replication_slots_dropped_total", "Replication slots this "
                + "node dropped, by reason (gone, wal_bound, standby, disabled)", n.get(), "group", group, "node",
                node, "reason", reason));
    }
}
