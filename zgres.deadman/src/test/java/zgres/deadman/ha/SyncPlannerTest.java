package zgres.deadman.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static zgres.deadman.ha.DeciderOperationsTest.group;
import static zgres.deadman.ha.DeciderOperationsTest.streamingFrom;
import static zgres.deadman.ha.DeciderTest.A;
import static zgres.deadman.ha.DeciderTest.B;
import static zgres.deadman.ha.DeciderTest.ME;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import zgres.api.GroupState;
import zgres.api.Lsn;
import zgres.api.SyncMode;
import zgres.deadman.ha.SyncPlanner.Plan;
import zgres.deadman.ha.SyncPlanner.Standby;

/** The order of operations that makes "every node in /sync holds every acknowledged commit" hold. */
class SyncPlannerTest {
    final GroupState g = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1), streamingFrom(A, ME, 500),
            streamingFrom(B, ME, 400)), List.of(), false, null);

    static Standby st(String sync, long flush) {
        return new Standby("x", "streaming", sync, Lsn.of(flush));
    }

    @Test
    void aStandbyIsAddedToPostgresFirstAndPublishedOnlyOnceItHasFlushedEverythingAcknowledged() {
        Map<String, Standby> async = Map.of(A.toString(), st("async", 500), B.toString(), st("async", 400));
        Plan first = SyncPlanner.plan(SyncMode.ON, 1, ME, g, List.of(), List.of(), async, Map.of());
        assertThat(first.standbyNames()).contains("FIRST 1 (\"" + A + "\")");
        assertThat(first.publish()).as("not yet in sync: not published").isEmpty();
        List<String> cur = List.of(A.toString());
        Plan notFlushed = SyncPlanner.plan(SyncMode.ON, 1, ME, g, cur, List.of(), Map.of(A.toString(), st("sync", 499)),
                Map.of(A.toString(), Lsn.of(500)));
        assertThat(notFlushed.publish()).as("sync but behind the position seen when it became sync").isEmpty();
        Plan ready = SyncPlanner.plan(SyncMode.ON, 1, ME, g, cur, List.of(), Map.of(A.toString(), st("sync", 500)),
                Map.of(A.toString(), Lsn.of(500)));
        assertThat(ready.standbyNames()).isEmpty();
        assertThat(ready.publish()).contains(List.of(A.toString()));
    }

    @Test
    void aLostStandbyIsUnpublishedBeforePostgresStopsWaitingForIt() {
        Map<String, Standby> onlyB = Map.of(B.toString(), st("async", 400));
        Plan p = SyncPlanner.plan(SyncMode.ON, 1, ME, g, List.of(A.toString()), List.of(A.toString()), onlyB, Map.of());
        assertThat(p.unpublish()).contains(List.of());
        assertThat(p.standbyNames()).contains("FIRST 1 (\"" + B + "\")");
        assertThat(p.publish()).isEmpty();
    }

    @Test
    void withNoStandbyLeftOnWritesAloneAndStrictKeepsWaiting() {
        GroupState alone = group(Optional.of(ME), List.of(DeciderTest.master(ME, 500, 1)), List.of(), false, null);
        List<String> cur = List.of(A.toString());
        Plan on = SyncPlanner.plan(SyncMode.ON, 1, ME, alone, cur, cur, Map.of(), Map.of());
        assertThat(on.unpublish()).contains(List.of());
        assertThat(on.standbyNames()).contains("");
        Plan strict = SyncPlanner.plan(SyncMode.STRICT, 1, ME, alone, cur, cur, Map.of(), Map.of());
        assertThat(strict.unpublish()).contains(List.of());
        assertThat(strict.standbyNames()).as("commits keep waiting for any standby").contains("*");
        Plan steady = SyncPlanner.plan(SyncMode.STRICT, 1, ME, alone, List.of("*"), List.of(), Map.of(), Map.of());
        assertThat(steady.nothing()).isTrue();
    }

    @Test
    void offClearsEverything() {
        Plan p = SyncPlanner.plan(SyncMode.OFF, 1, ME, g, List.of(A.toString()), List.of(A.toString()), Map.of(),
                Map.of());
        assertThat(p.unpublish()).contains(List.of());
        assertThat(p.standbyNames()).contains("");
    }

    @Test
    void synchronousStandbyNamesAreParsedBack() {
        assertThat(SyncPlanner.parseNames(SyncPlanner.standbyNames(List.of(A.toString(), "we\"ird"))))
                .containsExactly(A.toString(), "we\"ird");
        assertThat(SyncPlanner.parseNames("*")).containsExactly("*");
        assertThat(SyncPlanner.parseNames("")).isEmpty();
        assertThat(SyncPlanner.parseNames("2 (a, b)")).containsExactly("a", "b");
    }
}
