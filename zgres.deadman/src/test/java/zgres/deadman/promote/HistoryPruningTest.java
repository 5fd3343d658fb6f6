package zgres.deadman.promote;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.Test;

/** {@code /history} is bounded: the oldest entries beyond history_limit go, the newest stay. */
class HistoryPruningTest {
    @Test
    void theOldestEntriesBeyondTheLimitArePruned() throws Exception {
        try (TestingServer zk = new TestingServer(true);
                CuratorFramework c = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100))) {
            c.start();
            String dir = "/zgres/history/g";
            for (int i = 0; i < 12; i++) {
                c.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath(dir + "/h-",
                        ("entry " + i).getBytes());
            }
            assertThat(Promoter.prune(c, dir, 5)).isEqualTo(7);
            List<String> left = c.getChildren().forPath(dir).stream().sorted().toList();
            assertThat(left).hasSize(5);
            assertThat(new String(c.getData().forPath(dir + "/" + left.get(0)))).isEqualTo("entry 7");
            assertThat(new String(c.getData().forPath(dir + "/" + left.get(4)))).isEqualTo("entry 11");
            assertThat(Promoter.prune(c, dir, 5)).isZero();
        }
    }
}
