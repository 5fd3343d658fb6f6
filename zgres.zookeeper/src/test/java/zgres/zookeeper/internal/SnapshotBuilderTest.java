package zgres.zookeeper.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

import zgres.api.ClusterSnapshot;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Tags;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/** Incremental snapshots: a change builds its own group again and takes every other group as it was. */
class SnapshotBuilderTest {
    private final ZkPaths paths = new ZkPaths("/zgres");
    private long zxid = 100;

    private ChildData state(String group, int port, long lsn) {
        NodeId id = NodeId.parse(group + "_10.0.0.1:" + port);
        Stat s = new Stat();
        s.setEphemeralOwner(port);
        s.setCzxid(++zxid);
        s.setMzxid(zxid);
        return new ChildData(paths.state(id), s, Znodes.encode(new NodeState(id, Role.REPLICA, NodePhase.STREAMING, "",
                List.of(), 1, Lsn.of(lsn), Lsn.of(lsn), Lsn.ZERO, 0, "7", Tags.NONE, false, Map.of(), Map.of(),
                Instant.now())));
    }

    @Test
    void aChangeBuildsOnlyItsGroupAgain() {
        SnapshotBuilder b = new SnapshotBuilder(paths, "test");
        List<ChildData> all = new ArrayList<>();
        for (int g = 0; g < 100; g++) {
            all.add(state("g" + g, 5432, 1));
        }
        ClusterSnapshot first = b.build(all, 1);
        assertThat(first.groups()).hasSize(100);

        ClusterSnapshot second = b.update(Map.of("g7", List.of(state("g7", 5432, 2))), 2);
        assertThat(second.groups()).hasSize(100);
        assertThat(second.group("g7").orElseThrow().states().values().iterator().next().receiveLsn())
                .isEqualTo(Lsn.of(2));
        for (int g = 0; g < 100; g++) {
            if (g != 7) {
                assertThat(second.group("g" + g).orElseThrow()).as("group g%d is the very object built before", g)
                        .isSameAs(first.group("g" + g).orElseThrow());
            }
        }
        ClusterSnapshot third = b.update(Map.of("g8", List.of()), 3);
        assertThat(third.groups()).hasSize(99).doesNotContainKey("g8");
    }

    @Test
    void malformedZnodesStayReportedWhileTheirGroupIsNotRebuilt() {
        SnapshotBuilder b = new SnapshotBuilder(paths, "test");
        Stat s = new Stat();
        s.setEphemeralOwner(1);
        ChildData junk = new ChildData(paths.stateDir() + "/junk", s, "x".getBytes());
        ChildData bad = new ChildData(paths.stateDir() + "/g1_10.0.0.1:5432", s, "{not json".getBytes());
        ClusterSnapshot first = b.build(List.of(junk, bad, state("g2", 5432, 1)), 1);
        assertThat(first.problems()).hasSize(2);
        ClusterSnapshot second = b.update(Map.of("g2", List.of(state("g2", 5432, 2))), 2);
        assertThat(second.problems()).as("problems of groups not rebuilt are still there").hasSize(2);
        ClusterSnapshot third = b.update(Map.of(GroupIndex.NO_GROUP, List.of()), 3);
        assertThat(third.problems()).hasSize(1).allMatch(p -> p.contains("g1_"));
    }

    private ChildData lock(String group, long session, long czxid) {
        Stat s = new Stat();
        s.setEphemeralOwner(session);
        s.setCzxid(czxid);
        s.setMzxid(czxid);
        return new ChildData(paths.lock(group), s, Znodes.encodeLock(NodeId.parse(group + "_10.0.0.1:5432")));
    }

    /**
     * A dead master's session loses /state and /lock in one transaction, heard one after the other: the moment the
     * lock is owned by a session publishing no state is not logged; a foreign lock that stays is, once.
     */
    @Test
    void aLockFindingIsSaidOnlyOnceItHasLasted() {
        SnapshotBuilder b = new SnapshotBuilder(paths, "test");
        ChildData st = state("g", 5432, 1); // ephemeral owner 5432
        b.build(List.of(st, lock("g", 5432, 500)), 1);
        long t0 = System.nanoTime();
        // the /state went first: for a moment the lock's session publishes nothing
        ClusterSnapshot transient_ = b.update(Map.of("g", List.of(lock("g", 5432, 500))), 2);
        assertThat(transient_.problems()).anyMatch(p -> p.contains("publishes no node state"));
        b.update(Map.of("g", List.of()), 3); // then the lock
        assertThat(b.reportLasting(t0 + SnapshotBuilder.LASTING_NANOS * 2)).as("gone before it lasted").isEmpty();

        // a lock of a foreign session that stays
        b.update(Map.of("g", List.of(st, lock("g", 99, 600))), 4);
        long t1 = System.nanoTime();
        assertThat(b.reportLasting(t1)).as("not yet").isEmpty();
        b.update(Map.of("g", List.of(st, lock("g", 99, 600))), 5); // rebuilt, still there
        assertThat(b.reportLasting(t1 + SnapshotBuilder.LASTING_NANOS * 2)).hasSize(1)
                .allMatch(p -> p.contains("publishes no node state"));
        assertThat(b.reportLasting(t1 + SnapshotBuilder.LASTING_NANOS * 4)).as("said once").isEmpty();
    }
}
