package zgres.zookeeper.internal;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

import org.apache.zookeeper.server.ServerConfig;
import org.apache.zookeeper.server.ZooKeeperServerMain;
import org.apache.zookeeper.server.quorum.QuorumPeerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A standalone ZooKeeper server in this JVM, bound to one address (loopback by default). Used when no connect string
 * is configured: the demo and single-machine setups.
 */
final class EmbeddedZooKeeper implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedZooKeeper.class);

    /** Exposes the protected shutdown of {@link ZooKeeperServerMain}. */
    private static final class Main extends ZooKeeperServerMain {
        void stop() {
            shutdown();
        }
    }

    private final Main main = new Main();
    private final Thread thread;
    private final String connectString;

    EmbeddedZooKeeper(String address, int port, Path dataDir, int tickMs) throws Exception {
        Files.createDirectories(dataDir);
        Properties p = new Properties();
        p.setProperty("dataDir", dataDir.toAbsolutePath().toString());
        p.setProperty("clientPort", Integer.toString(port));
        p.setProperty("clientPortAddress", address);
        p.setProperty("tickTime", Integer.toString(tickMs));
        // sessions from 2 ticks up to a minute: both the fast profile (1.5 s) and slow links fit
        p.setProperty("minSessionTimeout", Integer.toString(2 * tickMs));
        p.setProperty("maxSessionTimeout", "60000");
        p.setProperty("maxClientCnxns", "0");
        p.setProperty("admin.enableServer", "false");
        // the default metrics provider needs Dropwizard metrics, which this runtime does not ship
        p.setProperty("metricsProvider.className", "org.apache.zookeeper.metrics.impl.NullMetricsProvider");
        p.setProperty("4lw.commands.whitelist", "ruok,stat,srvr,mntr");
        p.setProperty("autopurge.snapRetainCount", "3");
        p.setProperty("autopurge.purgeInterval", "1");
        QuorumPeerConfig qpc = new QuorumPeerConfig();
        Thread current = Thread.currentThread();
        ClassLoader tccl = current.getContextClassLoader();
        current.setContextClassLoader(ZooKeeperServerMain.class.getClassLoader());
        try {
            qpc.parseProperties(p);
        } finally {
            current.setContextClassLoader(tccl);
        }
        ServerConfig config = new ServerConfig();
        config.readFrom(qpc);
        this.connectString = address + ":" + port;
        this.thread = new Thread(() -> {
            try {
                main.runFromConfig(config);
            } catch (Exception e) {
                LOG.error("embedded ZooKeeper server on {} stopped: {}", connectString, e.toString(), e);
            }
        }, "zgres-embedded-zookeeper");
        // ZooKeeper loads its metrics provider and connection factory by name through the context class loader
        thread.setContextClassLoader(ZooKeeperServerMain.class.getClassLoader());
        thread.setDaemon(true);
        thread.start();
        waitUntilServing(address, port, 20_000);
        LOG.info("embedded ZooKeeper server serving on {} (data {}, tick {} ms)", connectString, dataDir, tickMs);
    }

    String connectString() {
        return connectString;
    }

    private void waitUntilServing(String address, int port, long timeoutMs) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!thread.isAlive()) {
                throw new IOException("embedded ZooKeeper server on " + address + ":" + port
                        + " failed to start (see the log above; is the port in use?)");
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address, port), 500);
                s.getOutputStream().write("ruok".getBytes());
                s.shutdownOutput();
                byte[] b = s.getInputStream().readNBytes(4);
                if ("imok".equals(new String(b))) {
                    return;
                }
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(50);
        }
        throw new IOException("embedded ZooKeeper server on " + address + ":" + port + " not serving after "
                + timeoutMs + " ms", last);
    }

    @Override
    public void close() {
        main.stop();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("embedded ZooKeeper server on {} stopped", connectString);
    }
}
