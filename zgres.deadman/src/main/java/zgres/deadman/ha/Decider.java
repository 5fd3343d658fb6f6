package zgres.deadman.ha;

import java.util.Optional;
import java.util.stream.Collectors;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.Lsn;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.deadman.pg.ControlData;

/**
 * The deadman's decision logic: one pure function from an {@link Observation} to a {@link Decision}. Each situation
 * is a small method returning the action and its reason in words; nothing here touches ZooKeeper or PostgreSQL.
 *
 * <p>Safety rules it never breaks: PostgreSQL runs as a writable primary only while this node holds the lock with
 * its current session and a valid lease; a primary without the lock is fenced; a node whose system identifier
 * differs from the group's db-id never joins; a cluster that was a primary while another node holds the lock is
 * rewound before it follows.
 */
public final class Decider {
    private final Policy policy;

    public Decider(Policy policy) {
        this.policy = policy;
    }

    public Decision decide(Observation o) {
        Decision d = decideUnpaused(o);
        if (o.group().paused() && !allowedWhilePaused(o, d)) {
            return Decision.of(Action.WAIT, "paused: not acting (would " + d.action().name().toLowerCase()
                    .replace('_', '-') + ": " + d.reason() + ")");
        }
        return d;
    }

    /** While paused nothing automatic happens; what operators ask for, and fencing, still do. */
    private static boolean allowedWhilePaused(Observation o, Decision d) {
        return switch (d.action()) {
            case NONE, WAIT, REFUSE, FENCE, HANDOVER, CANCEL_SWITCHOVER -> true;
            case TAKE_LOCK, PROMOTE -> requestFor(o).isPresent();
            default -> false;
        };
    }

    /** @return a switchover handover or a manual failover naming this node */
    static Optional<Switchover> requestFor(Observation o) {
        return o.group().switchover().filter(s -> s.candidate().equals(o.me().toString())
                && (s.handover() || s.isFailover()));
    }

    private Decision decideUnpaused(Observation o) {
        if (!o.connected()) {
            return disconnected(o);
        }
        Local local = o.local();
        String dbId = o.group().dbId();
        String sysId = local.systemId();
        if (local.dataDir() == Local.DataDir.GARBAGE) {
            return Decision.of(Action.REFUSE, "data directory is not empty and holds no PostgreSQL cluster: "
                    + "refusing to touch it");
        }
        if (!dbId.isEmpty() && !sysId.isEmpty() && !dbId.equals(sysId)) {
            return Decision.of(Action.REFUSE, "system identifier " + sysId + " differs from the group's db-id "
                    + dbId + ": this data belongs to another cluster, not joining the group");
        }
        if (local.dataDir() == Local.DataDir.EMPTY) {
            return emptyDataDirectory(o);
        }
        if (local.failedStarts() >= 3 && o.lock() == LockOwner.OTHER && o.group().masterConn().isPresent()
                && (local.standbySignal() || !local.running())) {
            NodeId m = o.group().master().orElseThrow();
            return Decision.of(Action.RECLONE, m, "PostgreSQL failed to start " + local.failedStarts()
                    + " times in a row: cloning it again from " + m.address());
        }
        if (!local.running()) {
            return notRunning(o);
        }
        if (!local.status().reachable()) {
            return unreachable(o);
        }
        return local.status().inRecovery() ? standby(o) : primary(o);
    }

    // ------------------------------------------------------------------ situations

    private Decision disconnected(Observation o) {
        if (o.local().primary()) {
            return Decision.of(Action.WAIT, "ZooKeeper unreachable: not master any more (the lease is not renewed; "
                    + "the dead man's switch fences PostgreSQL when it runs out)");
        }
        return Decision.of(Action.WAIT, "ZooKeeper unreachable: no automatic action");
    }

    private Decision emptyDataDirectory(Observation o) {
        if (o.group().dbId().isEmpty()) {
            return switch (o.lock()) {
                case NONE -> Decision.of(Action.BOOTSTRAP, "empty data directory and no db-id: bootstrapping the "
                        + "group with initdb (taking the lock first)");
                case MINE -> Decision.of(Action.BOOTSTRAP, "empty data directory, no db-id and we hold the lock: "
                        + "bootstrapping");
                default -> Decision.of(Action.WAIT, "empty data directory: another node is bootstrapping the group");
            };
        }
        Optional<NodeId> master = o.group().master();
        if (o.lock() == LockOwner.OTHER && master.isPresent() && o.group().masterConn().isPresent()) {
            return Decision.of(Action.CLONE, master.get(), "empty data directory: cloning from master "
                    + master.get().address() + " with pg_basebackup");
        }
        if (o.lock() == LockOwner.MINE_STALE) {
            return Decision.of(Action.DELETE_STALE_LOCK, "empty data directory but the lock names us (an earlier "
                    + "session): deleting it");
        }
        return Decision.of(Action.WAIT, "empty data directory: waiting for a healthy master to clone from");
    }

    private Decision notRunning(Observation o) {
        Local local = o.local();
        boolean wasPrimary = !local.standbySignal() && local.control().map(ControlData::wasPrimary).orElse(false);
        switch (o.lock()) {
            case MINE -> {
                if (local.downForMs() > policy.crashRestartTimeoutMs()) {
                    return Decision.of(Action.RELEASE_LOCK, "PostgreSQL has been down for " + local.downForMs()
                            + " ms (crash_restart_timeout " + policy.crashRestartTimeoutMs() + " ms): giving up the "
                            + "lock so that the best replica takes over");
                }
                if (o.group().timeline() > local.timeline() && local.timeline() > 0) {
                    return Decision.of(Action.RELEASE_LOCK, "local timeline " + local.timeline()
                            + " is older than the group's " + o.group().timeline() + ": giving up the lock");
                }
                if (!wasPrimary) {
                    return Decision.of(Action.START_STANDBY, "holding the lock with a standby that does not run: "
                            + "starting it, then promoting");
                }
                if (!o.leaseValid()) {
                    return Decision.of(Action.WAIT, "holding the lock but the lease is not confirmed: not starting "
                            + "PostgreSQL as master yet");
                }
                return Decision.of(Action.START_MASTER, "PostgreSQL is down while we hold the lock: restarting it "
                        + "in place (crash recovery loses nothing)");
            }
            case MINE_STALE -> {
                return Decision.of(Action.DELETE_STALE_LOCK, "the lock names us but belongs to an earlier session "
                        + "and PostgreSQL does not run here: deleting it so that the group can elect a master");
            }
            case OTHER -> {
                NodeId m = o.group().master().orElseThrow();
                Optional<ConnInfo> mc = o.group().masterConn();
                int masterTimeline = masterTimeline(o);
                boolean olderTimeline = local.dataTimeline() > 0 && masterTimeline > local.dataTimeline();
                if (wasPrimary || olderTimeline) {
                    String why = wasPrimary ? "this cluster was a primary" : "this cluster's data is on timeline "
                            + local.dataTimeline() + " and the master on " + masterTimeline;
                    if (mc.isEmpty()) {
                        return Decision.of(Action.WAIT, why + " and " + m.address()
                                + " holds the lock but is not healthy: waiting to rewind from it");
                    }
                    return Decision.of(Action.REWIND, m, why + ": rewinding onto " + m.address()
                            + "'s timeline before following it (pg_rewind does nothing when nothing diverged)");
                }
                return Decision.of(Action.START_STANDBY, m, "starting as a standby of " + m.address());
            }
            default -> {
                return Decision.of(Action.START_STANDBY, wasPrimary
                        ? "no master: starting this former primary as a standby so that it takes part in the election"
                        : "no master: starting as a standby to take part in the election");
            }
        }
    }

    private Decision unreachable(Observation o) {
        return Decision.of(Action.WAIT, "PostgreSQL runs but does not answer yet: " + o.local().status().error());
    }

    private Decision primary(Observation o) {
        return switch (o.lock()) {
            case MINE -> o.group().switchover().filter(s -> !s.handover() && !o.now().isBefore(s.scheduledAt()))
                    .map(s -> handover(o, s)).orElse(Decision.of(Action.NONE, "master, holding the lock"));
            case OTHER -> Decision.of(Action.FENCE, "PostgreSQL is writable but " + o.group().master().orElseThrow()
                    .address() + " holds the lock: fencing");
            case MINE_STALE -> Decision.of(Action.FENCE, "PostgreSQL is writable but the lock belongs to an earlier "
                    + "session of ours: fencing");
            case NONE -> Decision.of(Action.FENCE, "PostgreSQL is writable but nobody holds the lock: fencing");
        };
    }

    private Decision standby(Observation o) {
        Local local = o.local();
        switch (o.lock()) {
            case MINE -> {
                return Decision.of(Action.PROMOTE, "holding the lock: promoting");
            }
            case MINE_STALE -> {
                return Decision.of(Action.DELETE_STALE_LOCK, "the lock names us but belongs to an earlier session "
                        + "and we are a standby: deleting it");
            }
            case OTHER -> {
                NodeId m = o.group().master().orElseThrow();
                Optional<ConnInfo> mc = o.group().masterConn();
                if (mc.isEmpty()) {
                    return Decision.of(Action.WAIT, "master " + m.address() + " holds the lock but is not healthy");
                }
                if (!m.address().equals(local.configuredUpstream())) {
                    return Decision.of(Action.FOLLOW, m, "following the new master " + m.address()
                            + (local.configuredUpstream().isEmpty() ? "" : " (was " + local.configuredUpstream() + ")"));
                }
                int masterTimeline = masterTimeline(o);
                if (local.notStreamingForMs() > policy.followTimeoutMs() && masterTimeline > local.dataTimeline()) {
                    return Decision.of(Action.REWIND, m, "not streaming from " + m.address() + " for "
                            + local.notStreamingForMs() + " ms with data on timeline " + local.dataTimeline()
                            + " (master on " + masterTimeline + "): rewinding");
                }
                return Decision.of(Action.NONE, local.status().streaming() ? "streaming from " + m.address()
                        : "following " + m.address() + " (not streaming yet)");
            }
            default -> {
                Optional<Decision> requested = requested(o);
                return requested.isPresent() ? requested.get() : election(o);
            }
        }
    }

    /** A handover or a manual failover in progress: its candidate takes the lock, the others leave it time. */
    private Optional<Decision> requested(Observation o) {
        Optional<Switchover> sw = o.group().switchover().filter(s -> s.handover() || s.isFailover());
        if (sw.isEmpty() || sw.get().candidate().isEmpty()) {
            return Optional.empty();
        }
        Switchover s = sw.get();
        String what = s.handover() ? "switchover from " + s.from() : "manual failover";
        if (s.candidate().equals(o.me().toString())) {
            return Optional.of(Decision.of(Action.TAKE_LOCK, what + ": this node is the candidate, taking the lock"
                    + (s.handover() && !s.finalLsn().equals(Lsn.ZERO) ? " (the old master's last position is "
                            + s.finalLsn() + ")" : "")));
        }
        if (o.lockFreeForMs() < policy.handoverTimeoutMs()) {
            return Optional.of(Decision.of(Action.WAIT, what + " to " + s.candidate() + " in progress"));
        }
        return Optional.empty();
    }

    /**
     * A master whose deadman is stopped cleanly hands over to the replica a switchover would choose (no election to
     * wait for, and the candidate promotes only with the final position), or, when none qualifies or the group is
     * paused, just releases the lock after PostgreSQL stopped.
     */
    public Decision onStop(Observation o) {
        if (o.group().paused()) {
            return Decision.of(Action.NONE, "the group is paused: releasing the lock without handing over");
        }
        Election.Ranking r = Election.rank(o.group(), new Election.Candidate(o.me(), Lsn.ZERO, 0, 0), false,
                "the master", Lsn.ZERO, Long.MAX_VALUE, syncSet(o));
        if (r.best().isEmpty()) {
            return Decision.of(Action.NONE, "no replica to hand over to (" + String.join("; ", r.excluded())
                    + "): releasing the lock, the group elects");
        }
        NodeId candidate = r.best().get().id();
        Optional<String> refusal = switchoverRefusal(o, candidate);
        if (refusal.isPresent()) {
            return Decision.of(Action.NONE, "not handing over to " + candidate.address() + " (" + refusal.get()
                    + "): releasing the lock, the group elects");
        }
        return Decision.of(Action.HANDOVER, candidate, "stopping: handing over to the best replica "
                + candidate.address());
    }

    /** The master's side of a switchover: check the candidate, then hand over (or give up with the reason). */
    private Decision handover(Observation o, Switchover s) {
        GroupState g = o.group();
        NodeId candidate;
        if (!s.candidate().isEmpty()) {
            candidate = NodeId.parse(s.candidate());
        } else {
            Election.Ranking r = Election.rank(g, new Election.Candidate(o.me(), Lsn.ZERO, 0, 0), false, "the master",
                    Lsn.ZERO, Long.MAX_VALUE, syncSet(o));
            if (r.best().isEmpty()) {
                return Decision.of(Action.CANCEL_SWITCHOVER, "switchover: no healthy replica to hand over to ("
                        + String.join("; ", r.excluded()) + ")");
            }
            candidate = r.best().get().id();
        }
        Optional<String> refusal = switchoverRefusal(o, candidate);
        if (refusal.isPresent()) {
            return Decision.of(Action.CANCEL_SWITCHOVER, "switchover to " + candidate.address() + " refused: "
                    + refusal.get());
        }
        return Decision.of(Action.HANDOVER, candidate, "switchover requested: handing over to " + candidate.address());
    }

    /** @return why {@code candidate} cannot take over from this master now, if it cannot */
    Optional<String> switchoverRefusal(Observation o, NodeId candidate) {
        GroupState g = o.group();
        Optional<NodeState> cs = g.state(candidate);
        if (candidate.equals(o.me())) {
            return Optional.of("it is the master already");
        }
        if (cs.isEmpty()) {
            return Optional.of("it is not a member of the group");
        }
        NodeState c = cs.get();
        if (c.role() != Role.REPLICA || !g.conns().containsKey(candidate) || !c.problems().isEmpty()) {
            return Optional.of("it is not a healthy replica (" + c.role().jsonName() + ", " + c.pgState()
                    + (c.problems().isEmpty() ? "" : ", " + String.join("; ", c.problems())) + ")");
        }
        if (!c.upstream().equals(o.me().address())) {
            return Optional.of("it does not stream from the master (upstream '" + c.upstream() + "')");
        }
        long lag = o.local().lsn().bytesAfter(c.bestLsn());
        if (lag > policy.maximumLagOnFailover()) {
            return Optional.of("it is " + lag + " bytes behind (maximum_lag_on_failover " + policy.maximumLagOnFailover()
                    + ")");
        }
        java.util.Set<String> sync = syncSet(o);
        if (sync != null && !sync.contains(candidate.toString())) {
            return Optional.of("it is not a synchronous standby (/sync lists " + sync + ")");
        }
        return Optional.empty();
    }

    /** @return the nodes of /sync in synchronous mode, else null */
    java.util.Set<String> syncSet(Observation o) {
        if (policy.syncMode() == SyncPlanner.Mode.OFF) {
            return null;
        }
        return new java.util.TreeSet<>(o.group().sync().standbys());
    }

    private Decision election(Observation o) {
        if (o.group().paused()) {
            return Decision.of(Action.WAIT, "lock free but the group is paused: no automatic failover");
        }
        Local local = o.local();
        String why = null;
        if (o.tags().nofailover()) {
            why = "tagged nofailover";
        }
        Election.Candidate me = new Election.Candidate(o.me(), local.lsn(), local.timeline(), o.tags().priority());
        Election.Ranking r = Election.rank(o.group(), me, why == null, why, o.lastMasterLsn(),
                policy.maximumLagOnFailover(), syncSet(o));
        if (r.ranked().stream().noneMatch(c -> c.id().equals(o.me()))) {
            String mine = r.excluded().stream().filter(e -> e.startsWith(o.me().address() + ":")).findFirst()
                    .orElse("not a candidate");
            return Decision.of(Action.WAIT, "lock free; not a candidate: " + mine);
        }
        if (o.lockFreeForMs() < policy.electionDelayMs()) {
            return Decision.of(Action.WAIT, "lock free for " + o.lockFreeForMs() + " ms: publishing fresh positions "
                    + "for " + policy.electionDelayMs() + " ms before the election");
        }
        // candidates ranked above us that did not take the lock within the election timeout are skipped
        long overdue = (o.lockFreeForMs() - policy.electionDelayMs()) / Math.max(1, policy.electionTimeoutMs());
        int myRank = 0;
        while (!r.ranked().get(myRank).id().equals(o.me())) {
            myRank++;
        }
        String peers = r.ranked().stream().map(Election.Candidate::toString).collect(Collectors.joining(", "));
        String others = r.excluded().isEmpty() ? "" : "; not candidates: " + String.join("; ", r.excluded());
        if (myRank == 0) {
            return Decision.of(Action.TAKE_LOCK, "lock free; best candidate by received LSN " + me.lsn()
                    + " (candidates: " + peers + others + ")");
        }
        if (myRank <= overdue) {
            return Decision.of(Action.TAKE_LOCK, "lock free for " + o.lockFreeForMs() + " ms and the "
                    + myRank + " better candidate(s) did not take it: taking it (candidates: " + peers + others + ")");
        }
        return Decision.of(Action.WAIT, "lock free; best candidate is " + r.ranked().get(0)
                + ", we rank " + (myRank + 1));
    }

    /** @return the master's timeline as it publishes it, else the group's */
    static int masterTimeline(Observation o) {
        return Math.max(o.group().master().flatMap(o.group()::state).map(NodeState::timeline).orElse(0),
                (int) o.group().timeline());
    }

    /** @return true when {@code s} says its node is a healthy standby */
    static boolean healthyReplica(NodeState s) {
        return s.role() == Role.REPLICA && s.healthy();
    }
}
