package zgres.plugin.haproxy;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.HostName;
import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.NodeState;
import zgres.api.sync.SyncPlugin;
import zgres.process.AtomicFile;
import zgres.process.Daemon;

/**
 * Keeps an HAProxy routing every configured group: {@code {group}-rw} (the master only) and {@code {group}-ro}
 * (the healthy replicas, weighted by zone — same zone as this HAProxy weighs more — or by lag; the master when no
 * replica is healthy). Each backend has fixed server slots: changes go through the Runtime API (stats socket)
 * — {@code set server ... addr/state/weight} — and a slot that leaves a node first gets
 * {@code shutdown sessions}, so no session stays on an old master. Only when a backend needs more slots is the
 * configuration rewritten and HAProxy reloaded seamlessly ({@code -sf}: old sessions finish on the old process).
 */
public class HaproxySync implements SyncPlugin, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HaproxySync.class);

    /** rw and ro ports of a group. */
    public record Ports(int rw, int ro) {}

    /** What to route and how. */
    public record Settings(String name, Path workDir, String bindAddress, Map<String, Ports> ports, int slots,
            String zone, String weightBy, int sameZoneWeight, int otherZoneWeight, String haproxyBin,
            boolean manage) {}

    /** What one server slot should be. */
    record Slot(String address, int port, boolean ready, int weight) {
        static final Slot EMPTY = new Slot("127.0.0.1", 1, false, 1);
    }

    private final Settings settings;
    private final Path config;
    private final Path socket;
    private final Map<String, Slot> current = new HashMap<>();
    private int slots;
    private String written = "";
    private final Daemon haproxy;
    private int reloads;
    private int commandsSent;

    public HaproxySync(Settings settings) {
        this.settings = settings;
        this.config = settings.workDir().resolve("haproxy.cfg");
        this.socket = settings.workDir().resolve("haproxy.sock");
        this.slots = Math.max(1, settings.slots());
        this.haproxy = new Daemon("haproxy " + settings.name(), List.of(), settings.workDir().resolve("haproxy.log"),
                false);
    }

    public Path socket() {
        return socket;
    }

    /** @return how many times HAProxy was started or reloaded */
    public synchronized int reloads() {
        return reloads;
    }

    /** @return how many Runtime API commands were sent (the same snapshot twice sends none) */
    public synchronized int commandsSent() {
        return commandsSent;
    }

    @Override
    public synchronized void apply(ClusterSnapshot snapshot) throws Exception {
        Map<String, Slot> desired = new LinkedHashMap<>();
        int needed = slots;
        for (Map.Entry<String, Ports> e : settings.ports().entrySet()) {
            String g = e.getKey();
            GroupState gs = snapshot.group(g).orElse(GroupState.empty(g));
            List<Slot> ro = readOnly(gs);
            needed = Math.max(needed, ro.size());
            Optional<ConnInfo> m = gs.masterConn();
            desired.put(g + "-rw/s1", m.map(c -> slot(c, 100)).orElse(Slot.EMPTY));
            for (int i = 0; i < Math.max(slots, ro.size()); i++) {
                desired.put(g + "-ro/s" + (i + 1), i < ro.size() ? ro.get(i) : Slot.EMPTY);
            }
        }
        if (needed > slots) {
            LOG.info("[{}] a backend needs {} servers: rewriting the configuration with more slots", settings.name(),
                    needed);
            slots = needed;
        }
        String cfg = render();
        if (!cfg.equals(written) || (settings.manage() && !haproxy.alive())) {
            writeAtomically(config, cfg);
            reload();
            written = cfg;
            current.clear();
        }
        runtime(desired);
    }

    /** Healthy replicas best first (same zone, then least lag, then node id), the master when there is none. */
    List<Slot> readOnly(GroupState g) {
        Comparator<Map.Entry<NodeId, ConnInfo>> order = Comparator
                .comparing((Map.Entry<NodeId, ConnInfo> e) -> !sameZone(e.getValue()))
                .thenComparingLong(e -> lag(g, e.getKey()))
                .thenComparing(Map.Entry::getKey);
        List<Slot> r = new ArrayList<>();
        g.replicaConns().entrySet().stream().sorted(order).forEach(e -> r.add(slot(e.getValue(), weight(g, e))));
        if (r.isEmpty()) {
            g.masterConn().ifPresent(c -> r.add(slot(c, 100)));
        }
        return r;
    }

    private boolean sameZone(ConnInfo c) {
        return !settings.zone().isEmpty() && settings.zone().equals(c.zone());
    }

    private static long lag(GroupState g, NodeId id) {
        return g.state(id).map(NodeState::lagBytes).orElse(Long.MAX_VALUE);
    }

    private int weight(GroupState g, Map.Entry<NodeId, ConnInfo> e) {
        if ("lag".equals(settings.weightBy())) {
            long lag = lag(g, e.getKey());
            // 100 when caught up, down to 1 at 16 MB behind
            return (int) Math.max(1, 100 - Math.min(99, lag / (160 * 1024)));
        }
        return sameZone(e.getValue()) ? settings.sameZoneWeight() : settings.otherZoneWeight();
    }

    private static Slot slot(ConnInfo c, int weight) {
        String ip;
        try {
            // checked again where it is written: a Runtime API command and a config line, nothing a host could add
            ip = InetAddress.getByName(HostName.require(c.host())).getHostAddress();
        } catch (IOException e) {
            ip = c.host();
        }
        return new Slot(ip, c.port(), true, weight);
    }

    String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("# written by zgres (").append(settings.name()).append("): do not edit, it is rewritten\n");
        sb.append("global\n");
        sb.append("    stats socket ").append(socket).append(" mode 600 level admin\n");
        sb.append("    stats timeout 30s\n");
        sb.append("defaults\n");
        sb.append("    mode tcp\n    timeout connect 3s\n    timeout client 1h\n    timeout server 1h\n");
        for (Map.Entry<String, Ports> e : settings.ports().entrySet()) {
            String g = e.getKey();
            sb.append("listen ").append(g).append("-rw\n");
            sb.append("    bind ").append(settings.bindAddress()).append(':').append(e.getValue().rw()).append('\n');
            // no retry to the master's address: a refused connection (the master just died) would otherwise hold
            // the client for HAProxy's turn-around timer (min(timeout connect, 1 s)) per retry, long after the
            // Runtime API moved the slot to the new master; failing at once lets the client reconnect there
            sb.append("    retries 0\n");
            sb.append("    server s1 127.0.0.1:1 disabled\n");
            sb.append("listen ").append(g).append("-ro\n");
            sb.append("    bind ").append(settings.bindAddress()).append(':').append(e.getValue().ro()).append('\n');
            sb.append("    balance leastconn\n");
            // a replica that refuses: try another one rather than wait for it
            sb.append("    option redispatch 1\n    retries 2\n");
            for (int i = 1; i <= slots; i++) {
                sb.append("    server s").append(i).append(" 127.0.0.1:1 disabled\n");
            }
        }
        return sb.toString();
    }

    /** Starts HAProxy, or replaces it seamlessly: the old process finishes its sessions ({@code -sf}). */
    private void reload() throws IOException, InterruptedException {
        if (!settings.manage()) {
            LOG.warn("[{}] wrote {}: reload HAProxy to apply it (manage is false)", settings.name(), config);
            return;
        }
        boolean first = !haproxy.started();
        Files.createDirectories(settings.workDir());
        Files.deleteIfExists(socket);
        Process p = haproxy.replace(old -> {
            List<String> cmd = new ArrayList<>(List.of(settings.haproxyBin(), "-db", "-f", config.toString()));
            if (old > 0) {
                cmd.addAll(List.of("-sf", Long.toString(old)));
            }
            return cmd;
        });
        for (int i = 0; i < 100 && !Files.exists(socket); i++) {
            if (!p.isAlive()) {
                throw new IOException("haproxy exited with " + p.exitValue() + " (see "
                        + settings.workDir().resolve("haproxy.log") + ")");
            }
            Thread.sleep(20);
        }
        reloads++;
        LOG.info("[{}] HAProxy {} (pid {})", settings.name(), first ? "started" : "reloaded", p.pid());
    }

    /** Brings every slot to its desired address, state and weight, cutting sessions of a slot that moves. */
    private void runtime(Map<String, Slot> desired) throws IOException {
        List<String> cmds = new ArrayList<>();
        List<String> moved = new ArrayList<>();
        for (Map.Entry<String, Slot> e : desired.entrySet()) {
            String srv = e.getKey();
            Slot want = e.getValue();
            Slot have = current.get(srv);
            if (want.equals(have)) {
                continue;
            }
            boolean addressChanges = have == null || !have.address().equals(want.address())
                    || have.port() != want.port();
            if (have != null && have.ready() && (addressChanges || !want.ready())) {
                cmds.add("set server " + srv + " state maint");
                cmds.add("shutdown sessions server " + srv);
                moved.add(srv + " (" + have.address() + ":" + have.port() + ")");
            }
            if (addressChanges) {
                cmds.add("set server " + srv + " addr " + want.address() + " port " + want.port());
            }
            cmds.add("set server " + srv + " weight " + want.weight());
            cmds.add("set server " + srv + " state " + (want.ready() ? "ready" : "maint"));
        }
        if (cmds.isEmpty()) {
            return;
        }
        String out = command(String.join(";", cmds));
        for (String line : out.split("\n")) {
            String l = line.trim();
            if (l.startsWith("No such") || l.startsWith("Require") || l.startsWith("Unknown") || l.startsWith("Invalid")
                    || l.startsWith("'") || l.toLowerCase().contains("error")) {
                throw new IOException("HAProxy runtime API refused: " + l + " (commands: " + cmds + ")");
            }
        }
        current.putAll(desired);
        commandsSent += cmds.size();
        if (!moved.isEmpty()) {
            LOG.warn("[{}] shut down sessions on {}", settings.name(), String.join(", ", moved));
        }
        LOG.info("[{}] applied {} runtime command(s)", settings.name(), cmds.size());
    }

    /** One Runtime API exchange over the stats socket. */
    public String command(String line) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII)));
            try (InputStream in = Channels.newInputStream(ch)) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
    }

    static void writeAtomically(Path file, String content) throws IOException {
        AtomicFile.write(file, content, "rw-r--r--");
    }

    @Override
    public synchronized void close() {
        haproxy.close();
    }
}
