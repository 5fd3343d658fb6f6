package zgres.api.promotion;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.PromotionPolicy;
import zgres.api.Role;
import zgres.api.SyncMode;
import zgres.api.SyncState;
import zgres.api.Tags;

/**
 * The one promotion rule, table-driven: every check for every purpose, and the cases where the five copies it
 * replaced disagreed (election, the master's switchover check, the candidate's peer check, the synchronous
 * planner, the shell). Each row names what was decided before where it differed.
 */
class PromotionRuleTest {
    static final String DB = "7300000000000000001";
    static final NodeId M = NodeId.parse("g_10.0.0.1:5432");
    static final NodeId A = NodeId.parse("g_10.0.0.2:5432");
    static final NodeId B = NodeId.parse("g_10.0.0.3:5432");
    static final long MASTER_LSN = 10_000_000;
    static final PromotionPolicy ASYNC = PromotionPolicy.DEFAULT;
    static final PromotionPolicy SYNC = new PromotionPolicy(1024 * 1024, SyncMode.ON);

    /** A node of the fixture, changeable before the group is built. */
    record Node(NodeId id, Role role, NodePhase phase, String upstream, List<String> problems, int timeline, long lsn,
            String systemId, boolean nofailover, boolean conn) {
        NodeState state() {
            return new NodeState(id, role, phase, upstream, problems, timeline, Lsn.of(lsn), Lsn.of(lsn),
                    role == Role.MASTER ? Lsn.of(lsn) : Lsn.ZERO, 0, systemId, new Tags(nofailover, 0, ""), false,
                    Map.of(), Map.of(), Instant.EPOCH);
        }

        Node lsn(long l) {
            return new Node(id, role, phase, upstream, problems, timeline, l, systemId, nofailover, conn);
        }
    }

    static Node master() {
        return new Node(M, Role.MASTER, NodePhase.RUNNING, "", List.of(), 2, MASTER_LSN, DB, false, true);
    }

    static Node replica(NodeId id, long lsn) {
        return new Node(id, Role.REPLICA, NodePhase.STREAMING, M.address(), List.of(), 2, lsn, DB, false, true);
    }

    /** A group: the master (when {@code withMaster}) and replicas A and B, each changed by its operator. */
    static GroupState group(boolean withMaster, UnaryOperator<Node> a, UnaryOperator<Node> b, List<String> sync) {
        List<Node> nodes = new ArrayList<>();
        if (withMaster) {
            nodes.add(master());
        }
        nodes.add(a.apply(replica(A, MASTER_LSN)));
        nodes.add(b.apply(replica(B, MASTER_LSN - 100)));
        TreeMap<NodeId, NodeState> states = new TreeMap<>();
        TreeMap<NodeId, ConnInfo> conns = new TreeMap<>();
        for (Node n : nodes) {
            if (n.role() == null) {
                continue; // not a member
            }
            states.put(n.id(), n.state());
            if (n.conn()) {
                conns.put(n.id(), new ConnInfo(n.id().host(), n.id().port(), "postgres", ""));
            }
        }
        return new GroupState("g", withMaster ? Optional.of(M) : Optional.empty(), states, conns, DB, 2,
                new SyncState(M.toString(), sync), false);
    }

    static UnaryOperator<Node> same() {
        return n -> n;
    }

    static Request election(PromotionPolicy p) {
        return Request.election(p, Lsn.of(MASTER_LSN));
    }

    static Request switchover(PromotionPolicy p) {
        return Request.switchover(p, Lsn.of(MASTER_LSN), 2);
    }

    static Request failover(PromotionPolicy p, boolean allowDataLoss) {
        return Request.manualFailover(p, allowDataLoss);
    }

    static Arguments row(String what, GroupState g, NodeId candidate, Request r, Check expected) {
        return Arguments.of(what, g, candidate, r, Optional.ofNullable(expected));
    }

    static Stream<Arguments> rules() {
        UnaryOperator<Node> vetoed = n -> new Node(n.id(), n.role(), n.phase(), n.upstream(), List.of("vetoed by X"),
                n.timeline(), n.lsn(), n.systemId(), false, false);
        UnaryOperator<Node> stopped = n -> new Node(n.id(), Role.STOPPED, NodePhase.STOPPED, "", List.of(), n.timeline(),
                n.lsn(), n.systemId(), false, false);
        UnaryOperator<Node> noConn = n -> new Node(n.id(), n.role(), n.phase(), n.upstream(), List.of(), n.timeline(),
                n.lsn(), n.systemId(), false, false);
        UnaryOperator<Node> nofailover = n -> new Node(n.id(), n.role(), n.phase(), n.upstream(), List.of(),
                n.timeline(), n.lsn(), n.systemId(), true, true);
        UnaryOperator<Node> foreign = n -> new Node(n.id(), n.role(), n.phase(), n.upstream(), List.of(), n.timeline(),
                n.lsn(), "999", false, true);
        UnaryOperator<Node> elsewhere = n -> new Node(n.id(), n.role(), n.phase(), B.address(), List.of(),
                n.timeline(), n.lsn(), n.systemId(), false, true);
        UnaryOperator<Node> oldTimeline = n -> new Node(n.id(), n.role(), n.phase(), n.upstream(), List.of(), 1,
                n.lsn(), n.systemId(), false, true);
        UnaryOperator<Node> gone = n -> new Node(n.id(), null, null, "", List.of(), 0, 0, "", false, false);
        UnaryOperator<Node> lag2MiB = n -> n.lsn(MASTER_LSN - 2 * 1024 * 1024);
        UnaryOperator<Node> ahead = n -> n.lsn(MASTER_LSN + 500);
        PromotionPolicy lag4MiB = new PromotionPolicy(4 * 1024 * 1024, SyncMode.OFF);
        return Stream.of(
                // ---- election (the lock is free; the master's last position is known)
                row("election: a healthy replica", group(false, same(), same(), List.of()), A, election(ASYNC), null),
                row("election: not a member", group(false, gone, same(), List.of()), A, election(ASYNC),
                        Check.NOT_A_MEMBER),
                row("election: not running as a replica", group(false, stopped, same(), List.of()), A,
                        election(ASYNC), Check.UNHEALTHY),
                row("election: vetoed (before: a vetoed node still ranked itself first)", group(false, vetoed, same(),
                        List.of()), A, election(ASYNC), Check.UNHEALTHY),
                row("election: no /conn", group(false, noConn, same(), List.of()), A, election(ASYNC),
                        Check.UNHEALTHY),
                row("election: nofailover", group(false, nofailover, same(), List.of()), A, election(ASYNC),
                        Check.NOFAILOVER),
                row("election: another cluster", group(false, foreign, same(), List.of()), A, election(ASYNC),
                        Check.FOREIGN_CLUSTER),
                row("election: lagging", group(false, lag2MiB, same(), List.of()), A, election(ASYNC), Check.LAGGING),
                row("election: synchronous, not in /sync", group(false, same(), same(), List.of(B.toString())), A,
                        election(SYNC), Check.NOT_SYNCHRONOUS),
                row("election: synchronous, /sync lists nobody: nobody is promotable", group(false, same(), same(),
                        List.of()), A, election(SYNC), Check.NOT_SYNCHRONOUS),
                row("election: synchronous, listed", group(false, same(), same(), List.of(A.toString())), A,
                        election(SYNC), null),
                // ---- switchover (and a master's clean stop): the master hands over
                row("switchover: a streaming replica", group(true, same(), same(), List.of()), A, switchover(ASYNC),
                        null),
                row("switchover: the master itself", group(true, same(), same(), List.of()), M, switchover(ASYNC),
                        Check.IS_THE_MASTER),
                row("switchover: not streaming from the master", group(true, elsewhere, same(), List.of()), A,
                        switchover(ASYNC), Check.NOT_STREAMING_FROM_MASTER),
                row("switchover: 2 MiB behind with maximum_lag_on_failover 4 MiB (before: the shell refused at a "
                        + "fixed 1 MiB)", group(true, lag2MiB, same(), List.of()), A, switchover(lag4MiB), null),
                row("switchover: 2 MiB behind with maximum_lag_on_failover 1 MiB", group(true, lag2MiB, same(),
                        List.of()), A, switchover(ASYNC), Check.LAGGING),
                row("switchover: nofailover (before: the master handed over to it)", group(true, nofailover, same(),
                        List.of()), A, switchover(ASYNC), Check.NOFAILOVER),
                row("switchover: another cluster (before: the master did not check it)", group(true, foreign, same(),
                        List.of()), A, switchover(ASYNC), Check.FOREIGN_CLUSTER),
                row("switchover: synchronous, /sync lists nobody (before: the shell accepted any candidate)",
                        group(true, same(), same(), List.of()), A, switchover(SYNC), Check.NOT_SYNCHRONOUS),
                row("switchover: an older timeline than the master's", group(true, oldTimeline, same(), List.of()), A,
                        switchover(ASYNC), Check.OLD_TIMELINE),
                // ---- manual failover without a master
                row("failover: the most advanced replica", group(false, same(), same(), List.of()), A,
                        failover(ASYNC, false), null),
                row("failover: another member is ahead", group(false, same(), ahead, List.of()), A,
                        failover(ASYNC, false), Check.PEER_AHEAD),
                row("failover: ahead but --allow-data-loss (before: the candidate's deadman gave the lock back "
                        + "anyway, so it never happened)", group(false, same(), ahead, List.of()), A,
                        failover(ASYNC, true), null),
                row("failover: vetoed (before: the shell only asked for a running replica)", group(false, vetoed,
                        same(), List.of()), A, failover(ASYNC, false), Check.UNHEALTHY),
                row("failover: vetoed, --allow-data-loss waives data checks only", group(false, vetoed, same(),
                        List.of()), A, failover(ASYNC, true), Check.UNHEALTHY),
                row("failover: nofailover (before: the shell did not check it without a master)", group(false,
                        nofailover, same(), List.of()), A, failover(ASYNC, false), Check.NOFAILOVER),
                row("failover: synchronous, not listed", group(false, same(), same(), List.of(B.toString())), A,
                        failover(SYNC, false), Check.NOT_SYNCHRONOUS),
                row("failover: synchronous, not listed, --allow-data-loss", group(false, same(), same(),
                        List.of(B.toString())), A, failover(SYNC, true), null),
                row("failover: an older timeline than another member's", group(false, oldTimeline, same(),
                        List.of()), A, failover(ASYNC, false), Check.OLD_TIMELINE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rules")
    void theOneRule(String what, GroupState g, NodeId candidate, Request request, Optional<Check> expected) {
        Optional<Refusal> r = PromotionRule.refusal(candidate, g, request);
        assertThat(r.map(Refusal::check)).as(what + " -> " + r.map(Refusal::reason).orElse("may be promoted"))
                .isEqualTo(expected);
        r.ifPresent(x -> assertThat(x.reason()).as("a reason in words").isNotBlank());
    }

    @Test
    void theGroupPolicyIsSynchronousWhenSyncListsStandbysWhateverTheMasterSays() {
        // before: the shell decided synchronous mode from /sync's content, the deadman from its own setting
        GroupState listed = group(true, same(), same(), List.of(B.toString()));
        assertThat(PromotionRule.groupPolicy(listed, ASYNC).syncMode()).isEqualTo(SyncMode.ON);
        assertThat(PromotionRule.refusal(A, listed, switchover(PromotionRule.groupPolicy(listed, ASYNC)))
                .map(Refusal::check)).contains(Check.NOT_SYNCHRONOUS);
        GroupState none = group(true, same(), same(), List.of());
        assertThat(PromotionRule.groupPolicy(none, ASYNC)).isEqualTo(ASYNC);
        assertThat(PromotionRule.groupPolicy(none, SYNC)).isEqualTo(SYNC);
    }

    @Test
    void theRankingPutsTheFurthestFirstThenPriorityThenNodeIdAndLeavesOutOlderTimelines() {
        GroupState g = group(false, same(), same(), List.of());
        Ranking r = PromotionRule.rank(g, election(ASYNC));
        assertThat(r.ranked()).extracting(Ranking.Candidate::id).containsExactly(A, B);
        GroupState tie = group(false, same(), n -> n.lsn(MASTER_LSN), List.of());
        assertThat(PromotionRule.rank(tie, election(ASYNC)).best().orElseThrow().id()).as("g_10.0.0.2 < g_10.0.0.3")
                .isEqualTo(A);
        GroupState old = group(false, n -> new Node(n.id(), n.role(), n.phase(), n.upstream(), List.of(), 1,
                MASTER_LSN + 1000, n.systemId(), false, true), same(), List.of());
        Ranking o = PromotionRule.rank(old, election(ASYNC));
        assertThat(o.best().orElseThrow().id()).as("further ahead but on an older timeline").isEqualTo(B);
        assertThat(o.refusal(A).map(Refusal::check)).contains(Check.OLD_TIMELINE);
    }

    @Test
    void aSwitchoverRankingNeverOffersTheMaster() {
        Ranking r = PromotionRule.rank(group(true, same(), same(), List.of()), switchover(ASYNC));
        assertThat(r.ranked()).extracting(Ranking.Candidate::id).containsExactly(A, B);
        assertThat(r.excluded()).isEmpty();
    }

    @Test
    void everyDataLossRefusalOfAManualFailoverIsListed() {
        GroupState g = group(false, same(), ahead(), List.of(B.toString()));
        List<Refusal> all = PromotionRule.refusals(A, g, failover(SYNC, false));
        assertThat(all).extracting(Refusal::check).containsExactly(Check.NOT_SYNCHRONOUS, Check.PEER_AHEAD);
        assertThat(all).allSatisfy(x -> assertThat(x.check().dataLoss()).isTrue());
    }

    @Test
    void theCandidateOfARequestHoldingTheLockAsAReplicaIsNotTheMasterAlready() {
        // found by the acceptance test: the candidate takes the lock, then checks itself with the rule before it
        // promotes; "the master already" must mean the primary, or a manual failover without a master never happens
        GroupState taking = group(false, same(), same(), List.of()).withMaster(A);
        assertThat(PromotionRule.refusal(A, taking, failover(ASYNC, false))).isEmpty();
        assertThat(PromotionRule.refusal(M, group(true, same(), same(), List.of()), failover(ASYNC, false))
                .map(Refusal::check)).contains(Check.IS_THE_MASTER);
    }

    static UnaryOperator<Node> ahead() {
        return n -> n.lsn(MASTER_LSN + 500);
    }
}
