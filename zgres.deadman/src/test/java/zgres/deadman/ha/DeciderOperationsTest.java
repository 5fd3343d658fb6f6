package zgres.deadman.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static zgres.deadman.ha.DeciderTest.A;
import static zgres.deadman.ha.DeciderTest.B;
import static zgres.deadman.ha.DeciderTest.DB;
import static zgres.deadman.ha.DeciderTest.ME;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.SyncMode;
import zgres.api.Role;
import zgres.api.Switchover;
import zgres.api.SyncState;
import zgres.api.Tags;

/** Planned switchover, manual failover, pause and synchronous mode in the decision logic (fake observations). */
class DeciderOperationsTest {
    static final Instant NOW = Instant.parse("2026-11-26T03:00:00Z");
    final Decider async = new Decider(new Policy(1000, 300, 2000, 20_000, 10_000));
    final Decider sync = new Decider(new Policy(1000, 300, 2000, 20_000, 10_000, SyncMode.ON, 1));

    static NodeState streamingFrom(NodeId id, NodeId upstream, long lsn) {
        return new NodeState(id, Role.REPLICA, NodePhase.STREAMING, upstream.address(), List.of(), 1, Lsn.of(lsn),
                Lsn.of(lsn), Lsn.ZERO, 0, DB, Tags.NONE, false, Map.of(), Map.of(), NOW);
    }

    static GroupState group(Optional<NodeId> master, List<NodeState> states, List<String> sync, boolean paused,
            Switchover sw) {
        return DeciderTest.group(master, states, new SyncState(master.map(NodeId::toString).orElse(""), sync), paused,
                Optional.ofNullable(sw));
    }

    static Switchover switchover(String candidate, Instant at) {
        return new Switchover(Switchover.SWITCHOVER, candidate, NOW, at, false, Switchover.REQUESTED, "", Lsn.ZERO);
    }

    static Observation asMaster(GroupState g, long myLsn) {
        Local me = new Local(Local.DataDir.CLUSTER, true, DeciderTest.primaryStatus(myLsn), Optional.empty(), false,
                "", 0, 0);
        return new Observation(ME, Tags.NONE, g, LockOwner.MINE, true, true, me, Lsn.ZERO, 0, NOW);
    }

    static Observation asReplica(NodeId me, GroupState g, LockOwner lock, long lsn, long lockFreeMs) {
        return new Observation(me, Tags.NONE, g, lock, true, false, DeciderTest.runningStandby(lsn, ""), Lsn.ZERO,
                lockFreeMs, NOW);
    }

    @Test
    void theMasterHandsOverToACaughtUpCandidate() {
        GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 500)),
                List.of(), false, switchover(A.toString(), NOW));
        Decision d = async.decide(asMaster(g, 500));
        assertThat(d.action()).isEqualTo(Action.HANDOVER);
        assertThat(d.target()).contains(A);
    }

    @Test
    void aSwitchoverWithoutCandidatePicksTheBestReplica() {
        GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 400),
                streamingFrom(B, ME, 500)), List.of(), false, switchover("", NOW));
        Decision d = async.decide(asMaster(g, 500));
        assertThat(d.action()).isEqualTo(Action.HANDOVER);
        assertThat(d.target()).contains(B);
    }

    @Test
    void aScheduledSwitchoverWaitsForItsTime() {
        GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 500)),
                List.of(), false, switchover(A.toString(), NOW.plusSeconds(60)));
        assertThat(async.decide(asMaster(g, 500)).action()).isEqualTo(Action.NONE);
    }

    @Test
    void aSwitchoverToALaggingMissingOrUnhealthyCandidateIsCancelledWithTheReason() {
        GroupState lagging = group(Optional.of(ME), List.of(DeciderTest.master(ME, 50_000, 1),
                streamingFrom(A, ME, 500)), List.of(), false, switchover(A.toString(), NOW));
        Decision d = async.decide(asMaster(lagging, 50_000));
        assertThat(d.action()).isEqualTo(Action.CANCEL_SWITCHOVER);
        assertThat(d.reason()).contains("bytes behind");
        GroupState missing = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1)), List.of(), false,
                switchover(B.toString(), NOW));
        assertThat(async.decide(asMaster(missing, 500)).reason()).contains("not a member of the group");
        NodeState sick = new NodeState(A, Role.REPLICA, NodePhase.STARTING, ME.address(), List.of("not streaming"), 1,
                Lsn.of(500), Lsn.of(500), Lsn.ZERO, 0, DB, Tags.NONE, false, Map.of(), Map.of(), NOW);
        GroupState unhealthy = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), sick), List.of(),
                false, switchover(A.toString(), NOW));
        assertThat(async.decide(asMaster(unhealthy, 500)).reason()).contains("not a healthy replica");
    }

    @Test
    void inSynchronousModeOnlyAListedStandbyIsASwitchoverCandidate() {
        GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 500),
                streamingFrom(B, ME, 500)), List.of(B.toString()), false, switchover(A.toString(), NOW));
        Decision d = sync.decide(asMaster(g, 500));
        assertThat(d.action()).isEqualTo(Action.CANCEL_SWITCHOVER);
        assertThat(d.reason()).contains("not a synchronous standby");
    }

    @Test
    void duringAHandoverOnlyTheCandidateTakesTheLockTheOthersWait() {
        Switchover handover = switchover(A.toString(), NOW).handingOver(ME.toString(), A.toString(), Lsn.of(500));
        GroupState g = group(Optional.empty(), List.of(streamingFrom(A, ME, 500), streamingFrom(B, ME, 900)),
                List.of(), false, handover);
        assertThat(async.decide(asReplica(A, g, LockOwner.NONE, 500, 10)).action()).isEqualTo(Action.TAKE_LOCK);
        Decision other = async.decide(asReplica(B, g, LockOwner.NONE, 900, 5000));
        assertThat(other.action()).as("B is further ahead but leaves the handover to A").isEqualTo(Action.WAIT);
        assertThat(other.reason()).contains("switchover");
        Decision late = async.decide(asReplica(B, g, LockOwner.NONE, 900, 60_000));
        assertThat(late.action()).as("after the handover timeout, the usual election").isEqualTo(Action.TAKE_LOCK);
    }

    @Test
    void pauseBlocksElectionAndPromotionButNotFencingOrARequestedFailover() {
        GroupState paused = group(Optional.empty(), List.of(streamingFrom(A, ME, 100)), List.of(), true, null);
        Decision d = async.decide(asReplica(ME, paused, LockOwner.NONE, 500, 60_000));
        assertThat(d.action()).isEqualTo(Action.WAIT);
        assertThat(d.reason()).contains("paused");
        GroupState pausedWithMaster = group(Optional.of(A), List.of(streamingFrom(B, A, 100)), List.of(), true, null);
        Observation primaryWithoutLock = new Observation(ME, Tags.NONE, pausedWithMaster, LockOwner.OTHER, true,
                false, new Local(Local.DataDir.CLUSTER, true, DeciderTest.primaryStatus(500), Optional.empty(), false,
                        "", 0, 0), Lsn.ZERO, 0, NOW);
        assertThat(async.decide(primaryWithoutLock).action()).as("fencing is safety, not automation")
                .isEqualTo(Action.FENCE);
        Switchover manual = new Switchover(Switchover.FAILOVER, ME.toString(), NOW, NOW, false, Switchover.REQUESTED,
                "", Lsn.ZERO);
        GroupState requested = group(Optional.empty(), List.of(streamingFrom(A, ME, 100)), List.of(), true, manual);
        assertThat(async.decide(asReplica(ME, requested, LockOwner.NONE, 500, 10)).action())
                .as("an operator's failover is carried out while paused").isEqualTo(Action.TAKE_LOCK);
    }

    @Test
    void inSynchronousModeAnUnlistedReplicaIsNeverElectedEvenWhenAhead() {
        GroupState g = group(Optional.empty(), List.of(streamingFrom(A, ME, 100)), List.of(A.toString()), false, null);
        Decision d = sync.decide(asReplica(ME, g, LockOwner.NONE, 900, 60_000));
        assertThat(d.action()).isEqualTo(Action.WAIT);
        assertThat(d.reason()).contains("not a candidate");
        Decision listed = sync.decide(asReplica(A, g, LockOwner.NONE, 100, 400));
        assertThat(listed.action()).isEqualTo(Action.TAKE_LOCK);
        GroupState nobody = group(Optional.empty(), List.of(streamingFrom(A, ME, 100)), List.of(), false, null);
        assertThat(sync.decide(asReplica(A, nobody, LockOwner.NONE, 100, 60_000)).action())
                .as("/sync empty (mode on, master was writing alone): nobody is promotable").isEqualTo(Action.WAIT);
    }

    @Test
    void aMasterStoppedCleanlyHandsOverToTheMostAdvancedReplica() {
        GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 400),
                streamingFrom(B, ME, 500)), List.of(), false, null);
        Decision d = async.onStop(asMaster(g, 500));
        assertThat(d.action()).isEqualTo(Action.HANDOVER);
        assertThat(d.target()).contains(B);
    }

    /** A whole runtime stopping (the demo's three nodes): its master does not hand over to a node that stops too. */
    @Test
    void aMasterStoppingWithItsRuntimeHandsOverOnlyToNodesOutsideIt() {
        GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 400),
                streamingFrom(B, ME, 500)), List.of(), false, null);
        Decision d = async.onStop(asMaster(g, 500), java.util.Set.of(ME, B));
        assertThat(d.action()).isEqualTo(Action.HANDOVER);
        assertThat(d.target()).contains(A);
        assertThat(async.onStop(asMaster(g, 500), java.util.Set.of(ME, A, B)).action())
                .as("everyone stops: release, no handover").isEqualTo(Action.NONE);
    }

    @Test
    void aMasterStoppedCleanlyWithoutAQualifiedReplicaJustReleasesTheLock() {
        GroupState lagging = group(Optional.of(ME), List.of(DeciderTest.master(ME, 50_000_000, 1),
                streamingFrom(A, ME, 400)), List.of(), false, null);
        assertThat(async.onStop(asMaster(lagging, 50_000_000)).action()).isEqualTo(Action.NONE);
        GroupState alone = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1)), List.of(), false, null);
        assertThat(async.onStop(asMaster(alone, 500)).action()).isEqualTo(Action.NONE);
        GroupState paused = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 500)),
                List.of(), true, null);
        assertThat(async.onStop(asMaster(paused, 500)).action()).isEqualTo(Action.NONE);
    }

    @Test
    void inSynchronousModeAMasterStoppedCleanlyHandsOverOnlyToASynchronousStandby() {
        GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 500),
                streamingFrom(B, ME, 500)), List.of(B.toString()), false, null);
        Decision d = sync.onStop(asMaster(g, 500));
        assertThat(d.action()).isEqualTo(Action.HANDOVER);
        assertThat(d.target()).contains(B);
        GroupState none = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 500)),
                List.of(), false, null);
        assertThat(sync.onStop(asMaster(none, 500)).action()).isEqualTo(Action.NONE);
    }
}
