package zgres.deadman.lease;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import zgres.api.NodeId;
import zgres.zookeeper.ZkPaths;

/** The lease argument's premises are checked, not assumed: the margin must cover tick/2 plus the supervisor's poll. */
class LeasePremiseTest {
    static final LeaseKeeper.DeadMansSwitch NOTHING = new LeaseKeeper.DeadMansSwitch() {
        @Override
        public void keepalive(long deadlineNanos) {
        }

        @Override
        public void fence(String reason) {
        }
    };

    /** A keeper that was never connected: its session timeout is the configured one. */
    static LeaseKeeper keeper(int sessionTimeoutMs, int marginMs, int tickMs) {
        LeaseKeeper k = new LeaseKeeper(null, new ZkPaths("/zgres"), NodeId.parse("g_127.0.0.1:5432"),
                sessionTimeoutMs, marginMs, NOTHING, () -> { });
        k.tickSource(() -> tickMs);
        return k;
    }

    @Test
    void theDefaultMarginGrowsToCoverZooKeepersSampleTickOfTwoSeconds() {
        LeaseKeeper k = keeper(6000, 0, 2000);
        assertThat(k.marginMs()).isEqualTo(1050);
        assertThat(TimeUnit.NANOSECONDS.toMillis(k.leaseNanos())).isEqualTo(4000 - 1050);
        assertThat(k.premiseProblem()).isEmpty();
    }

    @Test
    void aConfiguredMarginThatDoesNotCoverHalfATickIsRefusedWithTheNumbers() {
        LeaseKeeper k = keeper(6000, 600, 2000);
        assertThat(k.premiseProblem()).hasValueSatisfying(p -> assertThat(p).contains("lease margin 600 ms")
                .contains("tick/2 (1000 ms, ZooKeeper's tick 2000 ms)").contains("raise lease_margin_ms to 1050"));
    }

    @Test
    void aShortTickKeepsTheUsualMargin() {
        assertThat(keeper(6000, 0, 100).marginMs()).isEqualTo(600);
        assertThat(keeper(1500, 0, 100).marginMs()).isEqualTo(150);
        assertThat(keeper(1500, 0, 100).premiseProblem()).isEmpty();
        assertThat(keeper(6000, 0, 0).marginMs()).as("tick unknown").isEqualTo(600);
    }

    @Test
    void aLeaseShorterThanARenewalIntervalIsRefused() {
        assertThat(keeper(1500, 900, 100).premiseProblem()).hasValueSatisfying(p -> assertThat(p)
                .contains("does not outlast a renewal interval"));
    }
}
