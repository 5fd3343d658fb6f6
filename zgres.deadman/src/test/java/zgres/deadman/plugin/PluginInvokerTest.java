package zgres.deadman.plugin;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import zgres.api.NodeId;
import zgres.api.Role;
import zgres.api.deadman.HealthVeto;
import zgres.api.deadman.MetadataProvider;
import zgres.api.deadman.NodeContext;

/** Plugins called with a time limit: a hung one costs one thread, never one per cycle, and counts against the node. */
class PluginInvokerTest {
    static final NodeContext NODE = new LocalNode(NodeId.parse("g_127.0.0.1:5432"), Role.MASTER, Path.of("/data"),
            () -> {
                throw new java.sql.SQLException("no database in this test");
            });

    /** A veto that hangs until released, ignoring interrupts (the worst a plugin can do). */
    static final class HangingVeto implements HealthVeto {
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public Optional<String> check(NodeContext node) {
            calls.incrementAndGet();
            while (release.getCount() > 0) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    // ignored on purpose
                }
            }
            return Optional.of("disk full");
        }
    }

    static long threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().startsWith(prefix))
                .count();
    }

    @Test
    void aHungVetoIsNeverStartedAgainCountsAsAVetoAndCostsOneThread() throws Exception {
        HangingVeto veto = new HangingVeto();
        try (PluginInvoker invoker = new PluginInvoker("t", () -> List.of(veto), List::of, 50)) {
            for (int cycle = 0; cycle < 10; cycle++) {
                PluginInvoker.Result r = invoker.call(NODE);
                assertThat(r.problems()).as("cycle " + cycle).singleElement().asString()
                        .contains("did not answer within 50 ms");
            }
            assertThat(veto.calls.get()).as("the hung call is not started again").isEqualTo(1);
            assertThat(invoker.threads()).isEqualTo(1);
            assertThat(threadsNamed("zgres-veto-HangingVeto")).as("threads").isEqualTo(1);

            veto.release.countDown();
            Thread.sleep(100);
            assertThat(invoker.call(NODE).problems()).as("answering again").containsExactly(
                    "vetoed by HangingVeto: disk full");
        }
    }

    @Test
    void aProviderThatFailsKeepsItsLastMetadataAndOneThatGoesAwayTakesItsThread() throws Exception {
        AtomicInteger n = new AtomicInteger();
        MetadataProvider zone = node -> {
            if (n.incrementAndGet() > 1) {
                throw new IllegalStateException("metadata service down");
            }
            return Map.of("zone", "eu-1a", "ignored", new Object());
        };
        List<MetadataProvider> providers = new CopyOnWriteArrayList<>(List.of(zone));
        try (PluginInvoker invoker = new PluginInvoker("t", List::of, () -> List.copyOf(providers), 500)) {
            assertThat(invoker.call(NODE).metadata()).as("only JSON-compatible values").containsExactly(
                    Map.entry("zone", "eu-1a"));
            assertThat(invoker.call(NODE).metadata()).as("after a failure").containsExactly(Map.entry("zone", "eu-1a"));
            assertThat(invoker.threads()).isEqualTo(1);
            providers.clear();
            assertThat(invoker.call(NODE).metadata()).isEmpty();
            assertThat(invoker.threads()).isZero();
        }
    }
}
