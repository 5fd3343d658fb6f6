package zgres.sync.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import zgres.api.ClusterSnapshot;

class SyncEngineTest {
    static ClusterSnapshot snap(long seq) {
        return new ClusterSnapshot(seq, Instant.now(), new TreeMap<>(), List.of());
    }

    @Test
    void aPluginAddedLaterGetsTheCurrentSnapshotAtOnce() {
        try (SyncEngine e = new SyncEngine(5, 0, 1000)) {
            e.offer(snap(7));
            List<Long> seen = new CopyOnWriteArrayList<>();
            e.add(s -> seen.add(s.sequence()), "late");
            await().atMost(Duration.ofSeconds(2)).until(() -> seen.contains(7L));
        }
    }

    @Test
    void aFailingPluginIsRetriedWithBackoffAndDoesNotBlockTheOthers() {
        try (SyncEngine e = new SyncEngine(5, 0, 400)) {
            AtomicInteger calls = new AtomicInteger();
            e.add(s -> {
                if (calls.incrementAndGet() < 4) {
                    throw new IllegalStateException("boom " + calls.get());
                }
            }, "flaky");
            List<Long> good = new CopyOnWriteArrayList<>();
            e.add(s -> good.add(s.sequence()), "good");
            e.offer(snap(1));
            await().atMost(Duration.ofSeconds(1)).until(() -> good.contains(1L));
            await().atMost(Duration.ofSeconds(5)).until(() -> calls.get() == 4);
            SyncEngine.PluginStatus flaky = e.status().stream().filter(p -> p.name().equals("flaky")).findFirst()
                    .orElseThrow();
            assertThat(flaky.failures()).isEqualTo(3);
            assertThat(flaky.appliedSequence()).isEqualTo(1);
            assertThat(flaky.lastError()).contains("boom 3");
        }
    }

    @Test
    void aSlowPluginGetsTheNewestSnapshotNeverAnOlderOneAfterANewerOne() throws Exception {
        try (SyncEngine e = new SyncEngine(0, 0, 1000)) {
            List<Long> seen = new CopyOnWriteArrayList<>();
            CountDownLatch first = new CountDownLatch(1);
            e.add(s -> {
                seen.add(s.sequence());
                first.countDown();
                Thread.sleep(200);
            }, "slow");
            e.offer(snap(1));
            first.await();
            for (long i = 2; i <= 50; i++) {
                e.offer(snap(i));
                Thread.sleep(2);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> seen.contains(50L));
            for (int i = 1; i < seen.size(); i++) {
                assertThat(seen.get(i)).isGreaterThan(seen.get(i - 1));
            }
            assertThat(seen.size()).as("intermediate snapshots are coalesced").isLessThan(50);
        }
    }
}
