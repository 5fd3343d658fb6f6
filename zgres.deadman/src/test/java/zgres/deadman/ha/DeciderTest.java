package zgres.deadman.ha;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.SyncState;
import zgres.api.Tags;
import zgres.deadman.pg.ControlData;
import zgres.deadman.pg.PgStatus;

/** Every situation of the decision logic, on fake observations (no failover claim rests on these). */
class DeciderTest {
    static final NodeId ME = NodeId.parse("g_10.0.0.1:5432");
    static final NodeId A = NodeId.parse("g_10.0.0.2:5432");
    static final NodeId B = NodeId.parse("g_10.0.0.3:5432");
    static final String DB = "7300000000000000001";
    final Decider decider = new Decider(new Policy(1000, 300, 2000, 20_000, 10_000));

    static NodeState replica(NodeId id, long lsn, int tl, Tags tags) {
        return new NodeState(id, Role.REPLICA, NodePhase.STREAMING, "", List.of(), tl, Lsn.of(lsn), Lsn.of(lsn), Lsn.ZERO, 0,
                DB, tags, false, Map.of(), Map.of(), Instant.now());
    }

    static NodeState master(NodeId id, long lsn, int tl) {
        return new NodeState(id, Role.MASTER, NodePhase.RUNNING, "", List.of(), tl, Lsn.of(lsn), Lsn.of(lsn), Lsn.of(lsn), 0,
                DB, Tags.NONE, false, Map.of(), Map.of(), Instant.now());
    }

    static GroupState group(Optional<NodeId> master, List<NodeState> states, boolean paused) {
        return group(master, states, SyncState.NONE, paused, Optional.empty());
    }

    /** A group of these states; the healthy ones have a /conn. */
    static GroupState group(Optional<NodeId> master, List<NodeState> states, SyncState sync, boolean paused,
            Optional<zgres.api.Switchover> switchover) {
        Map<NodeId, NodeState> s = new HashMap<>();
        Map<NodeId, ConnInfo> c = new HashMap<>();
        for (NodeState n : states) {
            s.put(n.id(), n);
            if (n.healthy()) {
                c.put(n.id(), new ConnInfo(n.id().host(), n.id().port(), "postgres", ""));
            }
        }
        return new GroupState("g", master, new TreeMap<>(s), new TreeMap<>(c), DB, 1, sync, paused, switchover);
    }

    static PgStatus standbyStatus(long lsn, int tl, boolean streaming) {
        return new PgStatus(true, "", true, tl, Lsn.ZERO, Lsn.ZERO, Lsn.of(lsn), Lsn.of(lsn), DB,
                streaming ? "streaming" : "", streaming ? A.address() : "", Lsn.of(lsn), tl);
    }

    static PgStatus primaryStatus(long lsn) {
        return new PgStatus(true, "", false, 1, Lsn.of(lsn), Lsn.of(lsn), Lsn.ZERO, Lsn.ZERO, DB, "", "", Lsn.ZERO, 1);
    }

    static Local runningStandby(long lsn, String upstream) {
        return new Local(Local.DataDir.CLUSTER, true, standbyStatus(lsn, 1, true), Optional.empty(), true, upstream, 0,
                0);
    }

    static Local stopped(boolean standbySignal, String state) {
        return new Local(Local.DataDir.CLUSTER, false, PgStatus.unreachable("not running"),
                Optional.of(new ControlData(DB, state, 1)), standbySignal, "", 0, 0);
    }

    static Observation obs(GroupState g, LockOwner lock, Local local, Tags tags, long lockFreeMs, Lsn lastMaster) {
        return new Observation(ME, tags, g, lock, true, lock == LockOwner.MINE, local, lastMaster, lockFreeMs);
    }

    @Test
    void emptyDataDirectoryWithoutDbIdBootstrapsWhenTheLockIsFree() {
        GroupState g = new GroupState("g", Optional.empty(), new TreeMap<>(), new TreeMap<>(), "", 0, SyncState.NONE,
                false);
        Local empty = new Local(Local.DataDir.EMPTY, false, PgStatus.unreachable(""), Optional.empty(), false, "", 0, 0);
        assertThat(decider.decide(obs(g, LockOwner.NONE, empty, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.BOOTSTRAP);
        GroupState other = new GroupState("g", Optional.of(A), new TreeMap<>(), new TreeMap<>(), "", 0,
                SyncState.NONE, false);
        assertThat(decider.decide(obs(other, LockOwner.OTHER, empty, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.WAIT);
    }

    @Test
    void emptyDataDirectoryWithADbIdClonesFromTheHealthyMaster() {
        GroupState g = group(Optional.of(A), List.of(master(A, 100, 1)), false);
        Local empty = new Local(Local.DataDir.EMPTY, false, PgStatus.unreachable(""), Optional.empty(), false, "", 0, 0);
        Decision d = decider.decide(obs(g, LockOwner.OTHER, empty, Tags.NONE, 0, Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.CLONE);
        assertThat(d.target()).contains(A);
        GroupState noMaster = group(Optional.empty(), List.of(), false);
        assertThat(decider.decide(obs(noMaster, LockOwner.NONE, empty, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.WAIT);
    }

    @Test
    void aClusterWithAnotherSystemIdentifierIsRefused() {
        GroupState g = group(Optional.of(A), List.of(master(A, 100, 1)), false);
        Local foreign = new Local(Local.DataDir.CLUSTER, false, PgStatus.unreachable(""),
                Optional.of(new ControlData("999", "shut down", 1)), false, "", 0, 0);
        Decision d = decider.decide(obs(g, LockOwner.OTHER, foreign, Tags.NONE, 0, Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.REFUSE);
        assertThat(d.reason()).contains("999").contains(DB);
    }

    @Test
    void aWritablePrimaryWithoutTheLockIsFenced() {
        Local primary = new Local(Local.DataDir.CLUSTER, true, primaryStatus(100), Optional.empty(), false, "", 0, 0);
        for (LockOwner l : new LockOwner[] {LockOwner.NONE, LockOwner.OTHER, LockOwner.MINE_STALE}) {
            GroupState g = group(l == LockOwner.OTHER ? Optional.of(A) : l == LockOwner.MINE_STALE ? Optional.of(ME)
                    : Optional.empty(), List.of(), false);
            assertThat(decider.decide(obs(g, l, primary, Tags.NONE, 0, Lsn.ZERO)).action()).as(l.name())
                    .isEqualTo(Action.FENCE);
        }
        GroupState mine = group(Optional.of(ME), List.of(), false);
        assertThat(decider.decide(obs(mine, LockOwner.MINE, primary, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.NONE);
    }

    @Test
    void withTheFailsafeAReplicaThatHeardFromItsMasterRecentlyDoesNotTakeTheFreeLockButLeavesAStandbyUpstream() {
        GroupState g = group(Optional.empty(), List.of(replica(A, 80, 1, Tags.NONE), replica(B, 90, 1, Tags.NONE)),
                false);
        // its upstream, the former master, publishes nothing (ZooKeeper expired its session): it may still serve
        Local heard = new Local(Local.DataDir.CLUSTER, true, standbyStatus(100, 1, true), Optional.empty(), true,
                "10.0.0.9:5432", 0, 0, 0, 3200, false);
        Decision d = decider.decide(obs(g, LockOwner.NONE, heard, Tags.NONE, 10_000, Lsn.ZERO));
        assertThat(d.situation()).isEqualTo(Situation.FAILSAFE_MASTER_HEARD);
        assertThat(d.reason()).contains("not taking the lock for 3200 ms more");
        // its upstream publishes itself as a standby (a former master restarted as one): it stops following it
        Local cascading = new Local(Local.DataDir.CLUSTER, true, standbyStatus(100, 1, true), Optional.empty(), true,
                A.address(), 0, 0, 0, 3200, false);
        Decision u = decider.decide(obs(g, LockOwner.NONE, cascading, Tags.NONE, 10_000, Lsn.ZERO));
        assertThat(u.action()).isEqualTo(Action.UNFOLLOW);
        assertThat(u.situation()).isEqualTo(Situation.FAILSAFE_UPSTREAM_STANDBY);
        Local quiet = new Local(Local.DataDir.CLUSTER, true, standbyStatus(100, 1, true), Optional.empty(), true,
                A.address(), 0, 0, 0, 0, false);
        assertThat(decider.decide(obs(g, LockOwner.NONE, quiet, Tags.NONE, 10_000, Lsn.ZERO)).action())
                .isEqualTo(Action.TAKE_LOCK);
    }

    @Test
    void withTheFailsafeOnlyTheBestCandidateTakesTheLockNeverTheNextAfterTheTimeout() {
        GroupState g = group(Optional.empty(), List.of(replica(A, 200, 1, Tags.NONE)), false);
        Local behind = runningStandby(100, "");
        Observation late = obs(g, LockOwner.NONE, behind, Tags.NONE, 60_000, Lsn.ZERO);
        assertThat(decider.decide(late).situation()).as("without the failsafe").isEqualTo(Situation.ELECTION_OVERDUE);
        Decider failsafe = new Decider(new Policy(1000, 300, 2000, 20_000, 10_000, zgres.api.SyncMode.OFF, 1,
                Policy.RewindFailure.RECLONE, true));
        Decision d = failsafe.decide(late);
        assertThat(d.action()).isEqualTo(Action.WAIT);
        assertThat(d.reason()).contains("only the best candidate takes the lock");
    }

    @Test
    void aPrimaryTheFailsafeKeepsWritableTakesTheFreeLockAgainAndIsFencedWhenAnotherHoldsIt() {
        Local held = new Local(Local.DataDir.CLUSTER, true, primaryStatus(100), Optional.empty(), false, "", 0, 0, 0, 0,
                true);
        for (LockOwner l : new LockOwner[] {LockOwner.NONE, LockOwner.MINE_STALE}) {
            GroupState g = group(l == LockOwner.MINE_STALE ? Optional.of(ME) : Optional.empty(), List.of(), true);
            Decision d = decider.decide(obs(g, l, held, Tags.NONE, 0, Lsn.ZERO));
            assertThat(d.action()).as(l.name() + " (even while paused)").isEqualTo(Action.TAKE_LOCK);
            assertThat(d.situation()).isEqualTo(Situation.FAILSAFE_RETAKE);
        }
        GroupState other = group(Optional.of(A), List.of(), false);
        assertThat(decider.decide(obs(other, LockOwner.OTHER, held, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.FENCE);
    }

    @Test
    void aFormerPrimaryIsRewoundBeforeFollowingTheNewMaster() {
        GroupState g = group(Optional.of(A), List.of(master(A, 100, 2)), false);
        Decision d = decider.decide(obs(g, LockOwner.OTHER, stopped(false, "in production"), Tags.NONE, 0,
                Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.REWIND);
        assertThat(d.target()).contains(A);
        // a former standby whose data is on the master's timeline just starts
        Local standby = new Local(Local.DataDir.CLUSTER, false, PgStatus.unreachable("not running"),
                Optional.of(new ControlData(DB, "shut down in recovery", 2, 2)), true, "", 0, 0);
        assertThat(decider.decide(obs(g, LockOwner.OTHER, standby, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.START_STANDBY);
    }

    @Test
    void aFormerPrimaryNeverStartsAsMasterWithoutTheLockAndLease() {
        GroupState g = group(Optional.of(ME), List.of(), false);
        Observation noLease = new Observation(ME, Tags.NONE, g, LockOwner.MINE, true, false,
                stopped(false, "in production"), Lsn.ZERO, 0);
        assertThat(decider.decide(noLease).action()).isEqualTo(Action.WAIT);
        Observation lease = new Observation(ME, Tags.NONE, g, LockOwner.MINE, true, true,
                stopped(false, "in production"), Lsn.ZERO, 0);
        assertThat(decider.decide(lease).action()).isEqualTo(Action.START_MASTER);
        GroupState free = group(Optional.empty(), List.of(), false);
        assertThat(decider.decide(obs(free, LockOwner.NONE, stopped(false, "in production"), Tags.NONE, 0,
                Lsn.ZERO)).action()).isEqualTo(Action.START_STANDBY);
    }

    @Test
    void aStoppedStandbyWhoseDataIsOnAnOlderTimelineIsRewoundNotJustStarted() {
        GroupState g = group(Optional.of(A), List.of(master(A, 100, 8)), false);
        Local old = new Local(Local.DataDir.CLUSTER, false, PgStatus.unreachable(""),
                Optional.of(new ControlData(DB, "shut down in recovery", 6, 6)), true, "", 0, 0);
        Decision d = decider.decide(obs(g, LockOwner.OTHER, old, Tags.NONE, 0, Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.REWIND);
        assertThat(d.reason()).contains("timeline 6").contains("on 8");
    }

    @Test
    void aRunningStandbyThatCannotFollowTheNewTimelineIsRewoundAfterTheFollowTimeout() {
        GroupState g = group(Optional.of(A), List.of(master(A, 100, 3)), false);
        Local stuck = new Local(Local.DataDir.CLUSTER, true, standbyStatus(200, 2, false), Optional.empty(), true,
                A.address(), 0, 11_000);
        assertThat(decider.decide(obs(g, LockOwner.OTHER, stuck, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.REWIND);
        Local fresh = new Local(Local.DataDir.CLUSTER, true, standbyStatus(200, 2, false), Optional.empty(), true,
                A.address(), 0, 1_000);
        assertThat(decider.decide(obs(g, LockOwner.OTHER, fresh, Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.NONE);
    }

    @Test
    void aCrashedMasterGivesUpTheLockAfterTheRestartBound() {
        GroupState g = group(Optional.of(ME), List.of(), false);
        Local down = new Local(Local.DataDir.CLUSTER, false, PgStatus.unreachable(""),
                Optional.of(new ControlData(DB, "in production", 1)), false, "", 25_000, 0);
        Observation o = new Observation(ME, Tags.NONE, g, LockOwner.MINE, true, true, down, Lsn.ZERO, 0);
        assertThat(decider.decide(o).action()).isEqualTo(Action.RELEASE_LOCK);
    }

    @Test
    void aStandbyRepointsToTheNewMaster() {
        GroupState g = group(Optional.of(B), List.of(master(B, 100, 2)), false);
        Decision d = decider.decide(obs(g, LockOwner.OTHER, runningStandby(90, A.address()), Tags.NONE, 0, Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.FOLLOW);
        assertThat(d.reason()).contains("was " + A.address());
    }

    @Test
    void theBestCandidateTakesTheLockAfterTheElectionDelay() {
        GroupState g = group(Optional.empty(), List.of(replica(A, 80, 1, Tags.NONE), replica(B, 90, 1, Tags.NONE)),
                false);
        Local me = runningStandby(100, A.address());
        assertThat(decider.decide(obs(g, LockOwner.NONE, me, Tags.NONE, 100, Lsn.ZERO)).action())
                .isEqualTo(Action.WAIT);
        Decision d = decider.decide(obs(g, LockOwner.NONE, me, Tags.NONE, 400, Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.TAKE_LOCK);
        assertThat(d.reason()).contains("best candidate by received LSN 0/64");
    }

    /**
     * Someone deleted the master's lock while its session lives: it still says it is master (frozen, or not noticed
     * yet), its lease may run 2T/3. Neither an election nor a handover request takes over before it steps down or
     * its lease is over.
     */
    @Test
    void nobodyTakesOverFromAFormerMasterThatStillClaimsTheRoleWithinItsLease() {
        GroupState g = group(Optional.empty(), List.of(master(A, 100, 1), replica(B, 90, 1, Tags.NONE)), false);
        Local me = runningStandby(100, A.address());
        Observation.FormerMaster former = new Observation.FormerMaster(A, 4000);
        java.util.function.LongFunction<Observation> at = free -> new Observation(ME, Tags.NONE, g, LockOwner.NONE,
                true, false, me, Lsn.of(100), free, Instant.now(), Observation.Self.NONE, Optional.empty(),
                Optional.empty(), Optional.of(former));
        Decision waiting = decider.decide(at.apply(1000));
        assertThat(waiting.action()).isEqualTo(Action.WAIT);
        assertThat(waiting.situation()).isEqualTo(Situation.FORMER_MASTER_SERVING);
        assertThat(waiting.reason()).contains(A.address()).contains("4000 ms");
        assertThat(decider.decide(at.apply(4001)).action()).as("its lease is over").isEqualTo(Action.TAKE_LOCK);
        // a handover to this node (forged or not) waits the same way
        zgres.api.Switchover handover = new zgres.api.Switchover(zgres.api.Switchover.SWITCHOVER, ME.toString(),
                Instant.now(), Instant.now(), false, zgres.api.Switchover.REQUESTED, "", Lsn.ZERO)
                .handingOver(A.toString(), ME.toString(), Lsn.of(100));
        GroupState h = group(Optional.empty(), List.of(master(A, 100, 1), replica(B, 90, 1, Tags.NONE)),
                SyncState.NONE, false, Optional.of(handover));
        Observation requested = new Observation(ME, Tags.NONE, h, LockOwner.NONE, true, false, me, Lsn.of(100), 50,
                Instant.now(), Observation.Self.NONE, Optional.empty(), Optional.empty(), Optional.of(former));
        assertThat(decider.decide(requested).situation()).isEqualTo(Situation.FORMER_MASTER_SERVING);
        Observation steppedDown = new Observation(ME, Tags.NONE, h, LockOwner.NONE, true, false, me, Lsn.of(100), 50,
                Instant.now(), Observation.Self.NONE, Optional.empty(), Optional.empty(), Optional.empty());
        assertThat(decider.decide(steppedDown).action()).isEqualTo(Action.TAKE_LOCK);
    }

    @Test
    void aLessAdvancedReplicaWaitsThenTakesOverWhenTheBestDoesNotAct() {
        GroupState g = group(Optional.empty(), List.of(replica(A, 200, 1, Tags.NONE)), false);
        Local me = runningStandby(100, A.address());
        Decision d = decider.decide(obs(g, LockOwner.NONE, me, Tags.NONE, 400, Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.WAIT);
        assertThat(d.reason()).contains("best candidate is " + A.address());
        assertThat(decider.decide(obs(g, LockOwner.NONE, me, Tags.NONE, 300 + 2000 + 1, Lsn.ZERO)).action())
                .isEqualTo(Action.TAKE_LOCK);
    }

    @Test
    void nofailoverAndLagAndPauseKeepANodeFromTakingTheLock() {
        GroupState g = group(Optional.empty(), List.of(replica(A, 50, 1, Tags.NONE)), false);
        Local me = runningStandby(100, A.address());
        Decision nofailover = decider.decide(obs(g, LockOwner.NONE, me, new Tags(true, 0, ""), 10_000, Lsn.ZERO));
        assertThat(nofailover.action()).isEqualTo(Action.WAIT);
        assertThat(nofailover.reason()).contains("nofailover");
        Decision lag = decider.decide(obs(g, LockOwner.NONE, me, Tags.NONE, 10_000, Lsn.of(100_000)));
        assertThat(lag.action()).isEqualTo(Action.WAIT);
        assertThat(lag.reason()).contains("maximum_lag_on_failover");
        GroupState paused = group(Optional.empty(), List.of(), true);
        assertThat(decider.decide(obs(paused, LockOwner.NONE, me, Tags.NONE, 10_000, Lsn.ZERO)).reason())
                .contains("paused");
    }

    @Test
    void equalPositionsAreDecidedByPriorityThenNodeId() {
        GroupState g = group(Optional.empty(), List.of(replica(A, 100, 1, new Tags(false, 5, ""))), false);
        Local me = runningStandby(100, A.address());
        assertThat(decider.decide(obs(g, LockOwner.NONE, me, Tags.NONE, 400, Lsn.ZERO)).action())
                .isEqualTo(Action.WAIT);
        GroupState g2 = group(Optional.empty(), List.of(replica(B, 100, 1, Tags.NONE)), false);
        assertThat(decider.decide(obs(g2, LockOwner.NONE, me, Tags.NONE, 400, Lsn.ZERO)).action())
                .as("g_10.0.0.1 sorts before g_10.0.0.3").isEqualTo(Action.TAKE_LOCK);
    }

    @Test
    void candidatesOnAnOlderTimelineAreLeftOut() {
        GroupState g = group(Optional.empty(), List.of(replica(A, 50, 2, Tags.NONE)), false);
        Local me = new Local(Local.DataDir.CLUSTER, true, standbyStatus(500, 1, true), Optional.empty(), true,
                A.address(), 0, 0);
        Decision d = decider.decide(obs(g, LockOwner.NONE, me, Tags.NONE, 400, Lsn.ZERO));
        assertThat(d.action()).isEqualTo(Action.WAIT);
        assertThat(d.reason()).contains("timeline 1");
    }

    @Test
    void holdingTheLockAsAStandbyPromotes() {
        GroupState g = group(Optional.of(ME), List.of(), false);
        assertThat(decider.decide(obs(g, LockOwner.MINE, runningStandby(100, ""), Tags.NONE, 0, Lsn.ZERO)).action())
                .isEqualTo(Action.PROMOTE);
    }

    @Test
    void withoutZooKeeperNothingAutomaticHappens() {
        GroupState g = group(Optional.empty(), List.of(), false);
        Observation o = new Observation(ME, Tags.NONE, g, LockOwner.NONE, false, false, runningStandby(1, ""),
                Lsn.ZERO, 10_000);
        assertThat(decider.decide(o).action()).isEqualTo(Action.WAIT);
    }
}
