package zgres.testkit;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingCluster;

/**
 * A real ZooKeeper ensemble (curator-test's TestingCluster: real ZooKeeper servers in this JVM) with a short tick so
 * that sessions from 2 ticks to 60 s are allowed. Servers can be killed and restarted.
 */
public final class ZkEnsemble implements AutoCloseable {
    private final List<InstanceSpec> specs = new ArrayList<>();
    private final TestingCluster cluster;
    private final int tickMs;

    public ZkEnsemble(int servers, int tickMs) throws Exception {
        this.tickMs = tickMs;
        for (int i = 1; i <= servers; i++) {
            File dir = Files.createTempDirectory("zgres-zk-").toFile();
            specs.add(new InstanceSpec(dir, InstanceSpec.getRandomPort(), InstanceSpec.getRandomPort(),
                    InstanceSpec.getRandomPort(), true, i, tickMs, 0,
                    Map.of("minSessionTimeout", Integer.toString(2 * tickMs), "maxSessionTimeout", "60000",
                            "localSessionsEnabled", "false", "admin.enableServer", "false",
                            "metricsProvider.className", "org.apache.zookeeper.metrics.impl.NullMetricsProvider"),
                    "127.0.0.1"));
        }
        cluster = new TestingCluster(specs);
        cluster.start();
    }

    public int tickMs() {
        return tickMs;
    }

    public List<InstanceSpec> servers() {
        return specs;
    }

    public String connectString() {
        return cluster.getConnectString();
    }

    /** Stops every server: the ensemble is gone (sessions are kept on disk). */
    public void stopAll() throws Exception {
        for (InstanceSpec s : specs) {
            cluster.killServer(s);
        }
    }

    /** Starts every server again. */
    public void startAll() throws Exception {
        for (InstanceSpec s : specs) {
            cluster.restartServer(s);
        }
    }

    public void kill(int index) throws Exception {
        cluster.killServer(specs.get(index));
    }

    public void restart(int index) throws Exception {
        cluster.restartServer(specs.get(index));
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
