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
    /** the port clients use on each server: the TLS port when TLS is on */
    private final List<Integer> clientPorts = new ArrayList<>();
    private final Tls tls;

    /** An ensemble that, like a production one, serves only authenticated clients (digest). */
    public ZkEnsemble(int servers, int tickMs) throws Exception {
        this(servers, tickMs, true);
    }

    /**
     * @param enforceAuth serve only clients that authenticated (digest): anonymous ones get nothing
     */
    public ZkEnsemble(int servers, int tickMs, boolean enforceAuth) throws Exception {
        this(servers, tickMs, enforceAuth, null);
    }

    /**
     * @param enforceAuth serve only clients that authenticated (digest): anonymous ones get nothing
     * @param tls when present, every server also serves TLS (clients must present a certificate of its truststore)
     *        and {@link #connectString()} names the TLS ports
     */
    public ZkEnsemble(int servers, int tickMs, boolean enforceAuth, Tls tls) throws Exception {
        this.tickMs = tickMs;
        this.tls = tls;
        for (int i = 1; i <= servers; i++) {
            File dir = Files.createTempDirectory("zgres-zk-").toFile();
            Map<String, Object> props = new java.util.LinkedHashMap<>(Map.of("minSessionTimeout",
                    Integer.toString(2 * tickMs), "maxSessionTimeout", "60000", "localSessionsEnabled", "false",
                    "admin.enableServer", "false", "4lw.commands.whitelist", "srvr",
                    "metricsProvider.className", "org.apache.zookeeper.metrics.impl.NullMetricsProvider",
                    // (ZooKeeper makes these system properties of this JVM: set them either way)
                    "enforce.auth.enabled", Boolean.toString(enforceAuth), "enforce.auth.schemes", "digest"));
            int port = InstanceSpec.getRandomPort();
            int clientPort = port;
            if (tls != null) {
                clientPort = InstanceSpec.getRandomPort();
                props.put("secureClientPort", Integer.toString(clientPort));
                props.putAll(tls.serverProperties());
            }
            clientPorts.add(clientPort);
            specs.add(new InstanceSpec(dir, port, InstanceSpec.getRandomPort(), InstanceSpec.getRandomPort(), true, i,
                    tickMs, 0, props, "127.0.0.1"));
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

    /** @return the port clients use on each server (the TLS port when TLS is on) */
    public List<Integer> clientPorts() {
        return clientPorts;
    }

    public String connectString() {
        return clientPorts.stream().map(p -> "127.0.0.1:" + p).collect(java.util.stream.Collectors.joining(","));
    }

    /** @return the TLS material, when the ensemble serves TLS */
    public java.util.Optional<Tls> tls() {
        return java.util.Optional.ofNullable(tls);
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

    /**
     * @return the index of the server that leads the ensemble now (asked with the {@code srvr} four-letter command on
     *         its plain client port), or -1 when none does
     */
    public int leaderIndex() {
        for (int i = 0; i < specs.size(); i++) {
            try (java.net.Socket so = new java.net.Socket()) {
                so.connect(new java.net.InetSocketAddress("127.0.0.1", specs.get(i).getPort()), 1000);
                so.setSoTimeout(2000);
                so.getOutputStream().write("srvr".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                so.getOutputStream().flush();
                String out = new String(so.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                if (out.contains("Mode: leader")) {
                    return i;
                }
            } catch (java.io.IOException e) {
                // down, or not answering: not the leader we can kill
            }
        }
        return -1;
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
