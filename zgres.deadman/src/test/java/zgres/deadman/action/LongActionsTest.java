package zgres.deadman.action;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** Long actions run off the loop, one at a time, are reported while they run and wake the loop when they end. */
class LongActionsTest {

    @Test
    void oneActionAtATimeReportedWhileItRunsAndTheLoopWokenWhenItEnds() throws Exception {
        AtomicInteger woken = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        try (LongActions actions = new LongActions("t", woken::incrementAndGet)) {
            assertThat(actions.inProgress()).isEmpty();
            assertThat(actions.start("pg_basebackup from a", release::await)).isTrue();
            assertThat(actions.start("pg_rewind from b", () -> {})).as("a second one while the first runs").isFalse();
            assertThat(actions.inProgress()).hasValueSatisfying(a -> assertThat(a.what()).isEqualTo(
                    "pg_basebackup from a"));
            release.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (woken.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(woken.get()).isEqualTo(1);
            assertThat(actions.inProgress()).isEmpty();
            CountDownLatch failed = new CountDownLatch(1);
            assertThat(actions.start("failing", () -> {
                failed.countDown();
                throw new IllegalStateException("pg_rewind: could not find common ancestor");
            })).isTrue();
            assertThat(failed.await(5, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void closingInterruptsTheActionInProgress() throws Exception {
        CountDownLatch interrupted = new CountDownLatch(1);
        LongActions actions = new LongActions("t", () -> {});
        actions.start("pg_basebackup from a", () -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
            }
        });
        Thread.sleep(50);
        actions.close();
        assertThat(interrupted.await(1, TimeUnit.SECONDS)).isTrue();
        assertThat(actions.inProgress()).isEmpty();
    }
}
