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

    /**
     * @param security the runtime's client security: the server enforces the same authentication scheme (no
     *        anonymous client gets anything) and serves TLS with the same keystore and truststore
     * @param securePort the TLS client port (0: none)
     * @param tlsOnly do not open the plain port
     */
    EmbeddedZooKeeper(String address, int port, Path dataDir, int tickMs, ClientSecurity security, int securePort,
            boolean tlsOnly) throws Exception {
        Files.createDirectories(dataDir);
        Properties p = new Properties();
        p.setProperty("dataDir", dataDir.toAbsolutePath().toString());
        if (tlsOnly && securePort == 0) {
            throw new IllegalArgumentException("embedded_tls_only needs embedded_secure_port");
        }
        if (securePort > 0 && security.tls() == null) {
            throw new IllegalArgumentException("embedded_secure_port needs tls = true and its keystore and truststore");
        }
        if (!tlsOnly) {
            p.setProperty("clientPort", Integer.toString(port));
            p.setProperty("clientPortAddress", address);
        }
        if (securePort > 0) {
            p.setProperty("secureClientPort", Integer.toString(securePort));
            p.setProperty("secureClientPortAddress", address);
            p.setProperty("serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory");
            p.putAll(security.tlsProperties(""));
            p.setProperty("ssl.clientAuth", "need");
        }
        switch (security.auth()) {
            case none -> LOG.warn("embedded ZooKeeper server without authentication: anyone who reaches {} controls "
                    + "the cluster", address);
            case x509 -> {
                p.setProperty("authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider");
                enforce(p, "x509");
            }
            case sasl -> {
                p.setProperty("authProvider.sasl", "org.apache.zookeeper.server.auth.SASLAuthenticationProvider");
                enforce(p, "sasl");
            }
            default -> enforce(p, "digest");
        }
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
        int served = tlsOnly ? securePort : port;
        this.connectString = address + ":" + (security.tls() != null && securePort > 0 ? securePort : port);
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
        waitUntilServing(address, served, !tlsOnly, 20_000);
        LOG.info("embedded ZooKeeper server serving on {} (data {}, tick {} ms, {}{})", connectString, dataDir, tickMs,
                security.auth() == ClientSecurity.Auth.none ? "no authentication" : security.auth()
                        + " authentication enforced", securePort > 0 ? (tlsOnly ? ", TLS only" : ", TLS on "
                                + securePort) : "");
    }

    String connectString() {
        return connectString;
    }

    /** Anonymous clients get nothing: every request needs an identity of this scheme. */
    private static void enforce(Properties p, String scheme) {
        p.setProperty("enforce.auth.enabled", "true");
        p.setProperty("enforce.auth.schemes", scheme);
    }

    private void waitUntilServing(String address, int port, boolean plain, long timeoutMs) throws IOException,
            InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!thread.isAlive()) {
                throw new IOException("embedded ZooKeeper server on " + address + ":" + port
                        + " failed to start (see the log above; is the port in use?)");
            }
            if (!plain) {
                // the TLS port listens: serving (connecting without TLS would only make the server log a failed
                // handshake, and binding to test it could take the port from the server)
                if (listening(port)) {
                    return;
                }
                Thread.sleep(50);
                continue;
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

    /** @return true when a socket listens on {@code port} (Linux: /proc/net/tcp and tcp6, state 0A) */
    static boolean listening(int port) throws IOException {
        String hex = String.format(":%04X", port);
        for (String f : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            Path p = Path.of(f);
            if (!Files.exists(p)) {
                continue;
            }
            for (String line : Files.readAllLines(p)) {
                String[] cols = line.trim().split("\\s+");
                if (cols.length > 3 && cols[1].endsWith(hex) && cols[3].equals("0A")) {
                    return true;
                }
            }
        }
        return false;
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
