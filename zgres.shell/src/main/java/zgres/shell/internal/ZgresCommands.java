package zgres.shell.internal;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.apache.zookeeper.KeeperException;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupName;
import zgres.api.GroupState;
import zgres.api.HistoryEntry;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.PauseMarker;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.Coordination;
import zgres.zookeeper.Znodes;

/**
 * The {@code zgres:} Gogo commands that read the cluster and ask it for planned operations. They return values:
 * listings are objects that {@link ListingConverter} formats, messages are text.
 */
@Component(service = ZgresCommands.class)
@GogoCommand(scope = "zgres", function = {"list", "await", "switchover", "switchovers", "cancel", "failover", "pause",
        "resume", "history", "zgres"})
public class ZgresCommands {
    private final Coordination zk;
    private final ClusterCache cache;

    @Activate
    public ZgresCommands(@Reference Coordination zk, @Reference ClusterCache cache) {
        this.zk = zk;
        this.cache = cache;
    }

    /**
     * What {@code zgres} prints and what the console's {@code help zgres} shows (Gogo prints a command's descriptor,
     * which must be a constant): {@link Usage#summary()}, which a test keeps it equal to.
     */
    public static final String SUMMARY = "zgres commands (./zgres ctl COMMAND ..., or zgres:COMMAND in the console; help zgres:COMMAND or ./zgres ctl help COMMAND for its options):\n"
            + "  list         List every group and node\n"
            + "  await        Wait until a group has a master and at least N healthy nodes\n"
            + "  switchover   Planned switchover: the master hands over to the best replica\n"
            + "  failover     Manual failover to a given node\n"
            + "  switchovers  List pending and scheduled switchovers and manual failovers\n"
            + "  cancel       Cancel a pending or scheduled switchover or manual failover\n"
            + "  pause        Pause a group: no automatic action\n"
            + "  resume       Resume automatic management of a paused group\n"
            + "  history      Show a group's promotions\n"
            + "  backup       Take a backup of a group now, on its master\n"
            + "  config       Cluster configuration in ZooKeeper\n"
            + "  plugins      Every node's zgres bundles and their versions, from /state\n"
            + "  acl          Check every znode's ACL against its role-based ACL\n"
            + "  sync         Show the sync plugins of this runtime and the last snapshot each applied";

    @Descriptor(SUMMARY)
    public CharSequence zgres() {
        return Usage.summary();
    }

    // without their arguments, the commands that need some print their usage (not Gogo's "Cannot coerce")

    public CharSequence switchover() {
        throw Usage.missing("switchover");
    }

    public CharSequence failover() {
        throw Usage.missing("failover");
    }

    public CharSequence cancel() {
        throw Usage.missing("cancel");
    }

    public CharSequence pause() {
        throw Usage.missing("pause");
    }

    public CharSequence resume() {
        throw Usage.missing("resume");
    }

    public CharSequence history() {
        throw Usage.missing("history");
    }

    public CharSequence await() {
        throw Usage.missing("await");
    }

    ClusterSnapshot snapshot() throws InterruptedException {
        if (!cache.awaitInitialized(15, TimeUnit.SECONDS)) {
            throw new IllegalStateException("cannot read ZooKeeper at " + zk.connectString() + " within 15 s");
        }
        return cache.snapshot();
    }

    @Descriptor("List every group and node: role, state, timeline, LSN, lag, zone (like patronictl list)")
    public Object list(
            @Descriptor("print JSON (one object per node) for scripts") @Parameter(names = {"-j", "--json"},
                    presentValue = "true", absentValue = "false") boolean json) throws Exception {
        return render(json, Optional.empty());
    }

    @Descriptor("List one group's nodes: role, state, timeline, LSN, lag, zone")
    public Object list(
            @Descriptor("print JSON (one object per node) for scripts") @Parameter(names = {"-j", "--json"},
                    presentValue = "true", absentValue = "false") boolean json,
            @Descriptor("group name") String group) throws Exception {
        GroupName.require(group);
        return render(json, Optional.of(group));
    }

    private Object render(boolean json, Optional<String> group) throws Exception {
        ClusterListing l = new ClusterListing(snapshot(), group);
        return json ? ClusterView.json(l.snapshot(), group) : l;
    }

    // ------------------------------------------------------------------ planned operations

    @Descriptor("Planned switchover: the master hands over to the best replica (nothing acknowledged is lost)")
    public CharSequence switchover(
            @Descriptor("not before this time (ISO-8601, e.g. 2026-11-26T03:00:00Z)") @Parameter(names = {"--at"},
                    absentValue = "") String at,
            @Descriptor("seconds to wait for the new master") @Parameter(names = {"--wait"}, absentValue = "30")
            int wait,
            @Descriptor("group name") String group) throws Exception {
        return requestSwitchover(group, Optional.empty(), at, wait);
    }

    @Descriptor("Planned switchover to a given replica (nothing acknowledged is lost)")
    public CharSequence switchover(
            @Descriptor("not before this time (ISO-8601, e.g. 2026-11-26T03:00:00Z)") @Parameter(names = {"--at"},
                    absentValue = "") String at,
            @Descriptor("seconds to wait for the new master") @Parameter(names = {"--wait"}, absentValue = "30")
            int wait,
            @Descriptor("group name") String group,
            @Descriptor("candidate: host:port or node id") String candidate) throws Exception {
        return requestSwitchover(group, Optional.of(candidate), at, wait);
    }

    private CharSequence requestSwitchover(String group, Optional<String> candidate, String at, int wait)
            throws Exception {
        GroupName.require(group);
        ClusterSnapshot s = snapshot();
        GroupState g = Operations.group(s, group);
        Optional<NodeId> c = candidate.map(x -> Operations.node(group, x));
        Optional<String> refusal = Operations.switchoverRefusal(g, c);
        if (refusal.isPresent()) {
            throw new IllegalStateException("switchover refused: " + refusal.get());
        }
        Instant now = Instant.now();
        Instant when = at.isBlank() ? now : Operations.parseTime(at);
        Switchover req = new Switchover(Switchover.Kind.SWITCHOVER, c.map(NodeId::toString).orElse(""), now, when,
                false, Switchover.Stage.REQUESTED, "", Lsn.ZERO);
        zk.client().create().creatingParentsIfNeeded().forPath(zk.paths().switchover(group), Znodes.encode(req));
        if (when.isAfter(now.plusSeconds(1))) {
            return "switchover of " + group + " scheduled at " + when + (c.map(x -> " to " + x.address()).orElse(""))
                    + " (zgres:switchovers lists it, zgres:cancel " + group + " drops it)";
        }
        return awaitNewMaster(group, g.master().orElseThrow(), c, wait, "switchover");
    }

    private CharSequence awaitNewMaster(String group, NodeId old, Optional<NodeId> to, int wait, String what)
            throws Exception {
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(wait);
        while (System.nanoTime() < deadline) {
            GroupState g = snapshot().group(group).orElseThrow();
            Optional<NodeId> m = g.master();
            if (m.isPresent() && !m.get().equals(old) && to.map(m.get()::equals).orElse(true)
                    && g.state(m.get()).map(x -> x.role() == Role.MASTER).orElse(false)) {
                return what + " of " + group + " done in " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)
                        + " ms: master is now " + m.get().address() + " (timeline " + g.state(m.get()).get()
                        .timeline() + ")\n" + ClusterView.table(snapshot(), Optional.of(group));
            }
            if (g.switchover().isEmpty() && cancelled(group, old)) {
                throw new IllegalStateException(what + " of " + group + " was cancelled by the master " + old.address()
                        + " (see its log for the reason)");
            }
            Thread.sleep(50);
        }
        return what + " of " + group + " still in progress after " + wait + " s:\n"
                + ClusterView.table(snapshot(), Optional.of(group));
    }

    /**
     * Read from ZooKeeper, not from the cache (which may not have seen our own request yet): the request is gone
     * while the old master still holds the lock.
     */
    private boolean cancelled(String group, NodeId old) throws Exception {
        if (zk.client().checkExists().forPath(zk.paths().switchover(group)) != null) {
            return false;
        }
        try {
            return Znodes.decodeLock(group, zk.client().getData().forPath(zk.paths().lock(group))).equals(old);
        } catch (KeeperException.NoNodeException | IllegalArgumentException e) {
            return false;
        }
    }

    @Descriptor("List pending and scheduled switchovers and manual failovers")
    public CharSequence switchovers() throws Exception {
        Table t = new Table("Switchovers", "Group", "Type", "Candidate", "State", "Scheduled at", "Requested at");
        int n = 0;
        for (GroupState g : snapshot().groups().values()) {
            if (g.switchover().isPresent()) {
                Switchover s = g.switchover().get();
                t.row(g.name(), s.kind().jsonName(), s.candidate().isEmpty() ? "(best replica)" : s.candidate(),
                        s.stage().jsonName(), s.scheduledAt(), s.requestedAt());
                n++;
            }
        }
        // requests a node refused to carry out (published in its /state for ten minutes)
        Table refused = new Table("Refused requests", "Group", "Node", "When and why");
        int r = 0;
        for (GroupState g : snapshot().groups().values()) {
            for (zgres.api.NodeState st : g.states().values()) {
                Object why = st.metadata().get("refused_request");
                if (why != null) {
                    // read from ZooKeeper: no control character reaches the terminal
                    String text = String.valueOf(why).replaceAll("\\p{Cntrl}", "?");
                    refused.row(g.name(), st.id().address(), text.length() > 300 ? text.substring(0, 300) + "..."
                            : text);
                    r++;
                }
            }
        }
        String pending = n == 0 ? "no pending switchover" : t.toString();
        return r == 0 ? pending : pending + "\n" + refused;
    }

    @Descriptor("Cancel a pending or scheduled switchover or manual failover")
    public CharSequence cancel(@Descriptor("group name") String group) throws Exception {
        GroupName.require(group);
        GroupState g = Operations.group(snapshot(), group);
        Switchover s = g.switchover().orElseThrow(() -> new IllegalStateException("no pending switchover of " + group));
        if (s.handover()) {
            throw new IllegalStateException("the switchover of " + group + " is being carried out (handover from "
                    + s.from() + "): too late to cancel");
        }
        zk.client().delete().forPath(zk.paths().switchover(group));
        return "cancelled the " + s.kind().jsonName() + " of " + group;
    }

    @Descriptor("Manual failover to a given node: works without a master; refused when it could lose acknowledged "
            + "commits unless --allow-data-loss")
    public CharSequence failover(
            @Descriptor("promote even if another node is further ahead") @Parameter(names = {"--allow-data-loss"},
                    presentValue = "true", absentValue = "false") boolean allowDataLoss,
            @Descriptor("seconds to wait for the new master") @Parameter(names = {"--wait"}, absentValue = "30")
            int wait,
            @Descriptor("group name") String group,
            @Descriptor("candidate: host:port or node id") String candidate) throws Exception {
        GroupName.require(group);
        GroupState g = Operations.group(snapshot(), group);
        NodeId c = Operations.node(group, candidate);
        if (g.state(c).isEmpty()) {
            throw new IllegalStateException("failover refused: " + c.address() + " is not a member of " + group);
        }
        Optional<String> pending = Operations.pending(g);
        if (pending.isPresent()) {
            throw new IllegalStateException("failover refused: " + pending.get());
        }
        if (g.master().isPresent() && g.masterConn().isPresent()) {
            // the master hands over (also while the group is paused: an operator asks for it)
            Optional<String> refusal = Operations.handoverRefusal(g, Optional.of(c));
            if (refusal.isPresent()) {
                throw new IllegalStateException("failover refused: the master is healthy and " + refusal.get());
            }
        } else {
            Optional<String> refusal = Operations.failoverRefusal(g, c);
            if (refusal.isPresent()) {
                throw new IllegalStateException("failover refused: " + refusal.get());
            }
            List<String> risks = Operations.dataLossRisks(g, c);
            if (!risks.isEmpty() && !allowDataLoss) {
                throw new IllegalStateException("failover refused: promoting " + c.address()
                        + " could lose acknowledged commits: " + String.join("; ", risks)
                        + " (--allow-data-loss to do it anyway)");
            }
        }
        Instant now = Instant.now();
        zk.client().create().creatingParentsIfNeeded().forPath(zk.paths().switchover(group), Znodes.encode(
                new Switchover(Switchover.Kind.FAILOVER, c.toString(), now, now, allowDataLoss,
                        Switchover.Stage.REQUESTED, "", Lsn.ZERO)));
        return awaitNewMaster(group, g.master().orElse(NodeId.ofAddress(group, "0.0.0.0:1")), Optional.of(c), wait,
                "failover");
    }

    @Descriptor("Pause a group: no automatic action (failover, restart, follow) until zgres:resume")
    public CharSequence pause(@Descriptor("group name") String group) throws Exception {
        GroupName.require(group);
        Operations.group(snapshot(), group);
        try {
            zk.client().create().creatingParentsIfNeeded().forPath(zk.paths().pause(group), Znodes.encode(
                    new PauseMarker(Instant.now())));
        } catch (KeeperException.NodeExistsException e) {
            return "group " + group + " was already paused";
        }
        return "paused group " + group + ": no automatic failover, restart or follow until zgres:resume " + group;
    }

    @Descriptor("Resume automatic management of a paused group")
    public CharSequence resume(@Descriptor("group name") String group) throws Exception {
        GroupName.require(group);
        try {
            zk.client().delete().forPath(zk.paths().pause(group));
        } catch (KeeperException.NoNodeException e) {
            return "group " + group + " was not paused";
        }
        return "resumed group " + group;
    }

    @Descriptor("Show a group's promotions: time, timeline, LSN, old and new master, reason")
    public Object history(@Descriptor("group name") String group) throws Exception {
        GroupName.require(group);
        String dir = zk.paths().history(group);
        List<String> children;
        try {
            children = new ArrayList<>(zk.client().getChildren().forPath(dir));
        } catch (KeeperException.NoNodeException e) {
            return "no history for group " + group;
        }
        children.sort(null);
        List<HistoryListing.Row> rows = new ArrayList<>();
        for (String c : children) {
            try {
                rows.add(new HistoryListing.Row(Optional.of(Znodes.decodeHistory(zk.client().getData().forPath(dir
                        + "/" + c))), ""));
            } catch (KeeperException.NoNodeException e) {
                // pruned meanwhile
            } catch (IllegalArgumentException e) {
                rows.add(new HistoryListing.Row(Optional.<HistoryEntry>empty(), e.getMessage()));
            }
        }
        return new HistoryListing(group, rows);
    }

    @Descriptor("Wait until a group has a master and at least N healthy nodes; prints the group")
    public Object await(
            @Descriptor("timeout in seconds") @Parameter(names = {"-t", "--timeout"}, absentValue = "60") int timeout,
            @Descriptor("group name") String group,
            @Descriptor("healthy nodes to wait for (master included)") int healthy) throws Exception {
        GroupName.require(group);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
        while (true) {
            ClusterSnapshot s = snapshot();
            Optional<GroupState> g = s.group(group);
            if (g.isPresent() && g.get().masterConn().isPresent() && g.get().conns().size() >= healthy) {
                return new ClusterListing(s, Optional.of(group));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("group " + group + " did not reach a master and " + healthy
                        + " healthy nodes within " + timeout + " s:\n" + ClusterView.table(s, Optional.of(group)));
            }
            Thread.sleep(200);
        }
    }
}
