package zgres.testkit;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.curator.framework.CuratorFramework;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.ZkPaths;

/**
 * A database group for acceptance tests and benchmarks: a real ZooKeeper ensemble, and N nodes, each its own JVM
 * running the exported runtime, each reaching every ZooKeeper server through a fault proxy of its own (to cut one
 * node off ZooKeeper). An observer in this JVM records every change of the lock.
 */
public final class Group implements AutoCloseable {
    public record LockChange(long atNanos, String holder) {
        /**
         * @return true when a node took the lock: not its disappearance (""), nor a lock no node's session publishes a
         *         state for - which is also how a dead master's lock looks for a moment, when its {@code /state} goes
         *         before its {@code /lock} in the reader's eyes
         */
        public boolean byNode() {
            return !holder.isEmpty() && !holder.contains(zgres.api.MasterLock.UNKNOWN_HOST);
        }
    }

    private final String name;
    private final Path base;
    private final ZkEnsemble zk;
    private final Path jar;
    private final List<NodeProcess> nodes = new ArrayList<>();
    private final Map<String, List<FaultProxy>> proxies = new LinkedHashMap<>();
    private final CuratorFramework observer;
    private final ClusterReader reader;
    private final List<LockChange> lockChanges = new CopyOnWriteArrayList<>();
    private final ZkPaths paths = new ZkPaths("/zgres");
    private final Identities identities = new Identities();
    private final Path credentials;
    private volatile String lastHolder = "";

    /** How the group reaches ZooKeeper. */
    public enum Security {
        /** no authentication, every znode open (as before 0.2; for comparisons only) */
        OPEN,
        /** digest authentication and role ACLs (the default, as in production) */
        AUTH,
        /** authentication and ACLs over TLS (client certificates required) */
        AUTH_TLS
    }

    private final Security security;

    /** A group whose ZooKeeper enforces authentication and ACLs (as in production). */
    public Group(String name, int size, Profile profile, int zkServers, Map<String, Object> extra) throws Exception {
        this(name, size, profile, zkServers, extra, Security.AUTH);
    }

    public Group(String name, int size, Profile profile, int zkServers, Map<String, Object> extra, Security security)
            throws Exception {
        this.name = name;
        this.security = security;
        jar = RuntimeProcess.jar();
        if (!Files.exists(jar)) {
            throw new IllegalStateException("the runtime " + jar + " is not built (mvn install)");
        }
        base = Files.createTempDirectory("zgres-accept-" + name + "-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        // the nodes run as postgres (when this JVM is root) and keep their data and framework storage here
        OsUser.own(base, OsUser.runtimeUser());
        credentials = Files.createDirectories(base.resolve("credentials"));
        Files.setPosixFilePermissions(credentials, PosixFilePermissions.fromString("rwx--x--x"));
        // authentication and ACLs on, as in production: the observer is an operator
        Tls tls = security == Security.AUTH_TLS ? Tls.create(base.resolve("tls")) : null;
        zk = new ZkEnsemble(zkServers, 100, security != Security.OPEN, tls);
        observer = security == Security.OPEN ? Identities.openClient(zk.connectString()) : identities.client(
                Identities.Role.OPERATOR, zk.connectString(), paths, tls == null ? null : tls.clientConfig("operator"));
        observer.start();
        reader = new ClusterReader(observer, paths, "observer");
        reader.addListener(this::onSnapshot);
        reader.start();
        reader.awaitInitialized(20, TimeUnit.SECONDS);
        List<String> jvm = List.of("-Xms24m", "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                "-Djava.util.logging.config.file=/dev/null");
        for (int i = 1; i <= size; i++) {
            String n = "n" + i;
            List<FaultProxy> ps = new ArrayList<>();
            for (int port : zk.clientPorts()) {
                ps.add(new FaultProxy("127.0.0.1", port));
            }
            proxies.put(n, ps);
            Map<String, Object> zkc = zookeeperConfig(Identities.Role.NODE, ps.stream().map(FaultProxy::address)
                    .collect(Collectors.joining(",")), OsUser.runtimeUser());
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("group", name);
            d.put("host", "127.0.0.1");
            d.put("port", freePort());
            d.put("data_dir", base.resolve(n).toString());
            d.put("superuser_password", Pg.PASSWORD);
            d.put("replication_password", Pg.PASSWORD);
            d.put("pg_parameters", new String[] {"shared_buffers = '16MB'", "max_connections = 40",
                    "synchronous_commit = on", "wal_writer_delay = '10ms'"});
            d.putAll(profile.deadmanSettings());
            d.putAll(extra);
            nodes.add(new NodeProcess(n, base, jar, zkc, d, jvm));
        }
    }

    /**
     * The {@code zgres.zookeeper} configuration of a runtime of this group with {@code role} that runs as
     * {@code owner}: its credentials and the ACL ids, and its TLS keys when the ensemble speaks TLS.
     */
    public Map<String, Object> zookeeperConfig(Identities.Role role, String connect, String owner) throws IOException {
        if (security == Security.OPEN) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("connect", connect);
            c.put("auth", "none");
            return c;
        }
        Map<String, Object> c = identities.runtimeConfig(role, connect, credentials, owner);
        if (zk.tls().isPresent()) {
            c.putAll(zk.tls().get().runtimeConfig(role == Identities.Role.NODE ? "node" : "operator", owner));
        }
        return c;
    }

    public Security security() {
        return security;
    }

    private void onSnapshot(ClusterSnapshot s) {
        String holder = s.group(name).flatMap(GroupState::master).map(NodeId::toString).orElse("");
        if (!holder.equals(lastHolder)) {
            lastHolder = holder;
            lockChanges.add(new LockChange(System.nanoTime(), holder));
        }
    }

    /** ports this JVM handed out: the kernel may offer a free port again before whoever got it has bound it */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A free port, never the same one twice in this JVM (two nodes of a group once got the same port, and so the same
     * node id: the second deleted the first's lock as its own stale one).
     */
    public static int freePort() throws IOException {
        while (true) {
            try (ServerSocket s = new ServerSocket(0)) {
                if (HANDED_OUT.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            }
        }
    }

    public String name() {
        return name;
    }

    public ZkEnsemble zookeeper() {
        return zk;
    }

    /** The group's ZooKeeper identities (node, operator, sync). */
    public Identities identities() {
        return identities;
    }

    /** Where the group's credentials files are. */
    public Path credentialsDir() {
        return credentials;
    }

    /** A client of this JVM to the ensemble (not through any node's proxy), with the operator's identity. */
    public CuratorFramework observer() {
        return observer;
    }

    public ZkPaths paths() {
        return paths;
    }

    public List<NodeProcess> nodes() {
        return nodes;
    }

    public NodeProcess node(String n) {
        return nodes.stream().filter(x -> x.name().equals(n)).findFirst().orElseThrow();
    }

    /** Cuts (or heals) one node's connections to every ZooKeeper server. */
    public void zookeeperLink(NodeProcess n, FaultProxy.Mode mode) {
        proxies.get(n.name()).forEach(p -> p.mode(mode));
    }

    public List<LockChange> lockChanges() {
        return lockChanges;
    }

    public GroupState state() {
        return reader.snapshot().group(name).orElse(GroupState.empty(name));
    }

    public Optional<NodeProcess> master() {
        return state().master().flatMap(id -> nodes.stream().filter(n -> n.port() == id.port()).findFirst());
    }

    public NodeId id(NodeProcess n) {
        return new NodeId(name, n.host(), n.port());
    }

    /** Starts the first node, waits for it to be master, then starts the others and waits for all to be healthy. */
    public void start() throws Exception {
        nodes.get(0).start();
        await("the first node to bootstrap", 120_000, g -> g.masterConn().isPresent());
        for (int i = 1; i < nodes.size(); i++) {
            nodes.get(i).start();
        }
        awaitHealthy(nodes.size(), 180_000);
    }

    public void awaitHealthy(int healthy, long timeoutMs) throws InterruptedException {
        await(healthy + " healthy nodes and a master", timeoutMs, g -> g.masterConn().isPresent()
                && g.conns().size() >= healthy && g.states().values().stream()
                        .filter(s -> g.conns().containsKey(s.id()))
                        .allMatch(s -> s.role() == zgres.api.Role.MASTER || s.phase() == zgres.api.NodePhase.STREAMING));
    }

    public GroupState await(String what, long timeoutMs, Predicate<GroupState> condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        GroupState g = state();
        while (!condition.test(g)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what + "; group: "
                        + g + "\n" + logTails());
            }
            Thread.sleep(50);
            g = state();
        }
        return g;
    }

    /** @return a metadata value of the node's {@code /state} as text, "" when it has none */
    public String metadata(NodeProcess n, String key) {
        return state().state(id(n)).map(s -> String.valueOf(s.metadata().getOrDefault(key, ""))).orElse("");
    }

    /** Waits for a master other than {@code old}; returns it. */
    public NodeProcess awaitNewMaster(NodeProcess old, long timeoutMs) throws InterruptedException {
        GroupState g = await("a master other than " + old, timeoutMs, s -> s.masterConn().isPresent()
                && s.master().get().port() != old.port());
        int port = g.master().get().port();
        return nodes.stream().filter(n -> n.port() == port).findFirst().orElseThrow();
    }

    /** What a {@code ./zgres ctl} command printed and its exit code. */
    public record CtlResult(int exitCode, String out) {}

    /**
     * Runs one shell command the way {@code ./zgres ctl} does: the exported runtime as a one-shot process against
     * this group's ensemble ({@code words} are the command and its arguments, e.g. {@code "switchover", "g"}).
     */
    /**
     * {@code ./zgres ctl WORDS...} as the operator: the plain client ({@code zgres.ctl}), and the runtime for what it
     * hands over (exit 3: {@code config set}).
     */
    public CtlResult ctl(String... words) throws IOException, InterruptedException {
        CtlResult r = plainCtl(words);
        return r.exitCode() == 3 ? runtimeCtl(words) : r;
    }

    private CtlResult plainCtl(String... words) throws IOException, InterruptedException {
        Path target = jar.getParent().getParent().getParent().resolve("zgres.ctl").resolve("target");
        Path ctlJar;
        try (var s = Files.list(target)) {
            ctlJar = s.filter(p -> p.getFileName().toString().matches("zgres\\.ctl-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("zgres.ctl is not built in " + target));
        }
        String cp = ctlJar + ":" + Files.readString(target.resolve("ctl.classpath")).trim();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp,
                "-Dorg.slf4j.simpleLogger.logFile=System.err", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.log.org.apache.zookeeper=off",
                "-Dorg.slf4j.simpleLogger.log.org.apache.curator=off",
                "-Dzgres.ctl.zk=" + zk.connectString(), "-Dzgres.ctl.root=/zgres"));
        zookeeperConfig(Identities.Role.OPERATOR, zk.connectString(), OsUser.current()).forEach((k, v) -> {
            if (!k.equals("connect")) {
                cmd.add("-Dzgres.zookeeper." + k + "=" + (v instanceof java.util.Collection<?> c
                        ? String.join(",", c.stream().map(String::valueOf).toList()) : v));
            }
        });
        cmd.add("zgres.ctl.Ctl");
        cmd.addAll(List.of(words));
        return runCtl(cmd, words);
    }

    private CtlResult runCtl(List<String> cmd, String... words) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("ctl " + String.join(" ", words) + " did not finish");
        }
        System.out.println("$ ./zgres ctl " + String.join(" ", words) + "  (exit " + p.exitValue() + ")\n" + out);
        return new CtlResult(p.exitValue(), out);
    }

    /** {@code ./zgres ctl} as it was before the plain client: one OSGi runtime per command (the benchmark's "before"). */
    public CtlResult runtimeCtl(String... words) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory(base, "ctl-");
        Path cfg = dir.resolve("ctl.json");
        // ./zgres ctl as the operator, in this JVM's user (what the script does with --credentials)
        Map<String, Object> zkc = new LinkedHashMap<>(zookeeperConfig(Identities.Role.OPERATOR, zk.connectString(),
                OsUser.current()));
        zkc.put("root", "/zgres");
        Files.writeString(cfg, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(Map.of(
                "zgres.zookeeper", zkc, "zgres.config", Map.of("enabled", false))));
        String line = "zgres:" + words[0];
        List<String> args = new ArrayList<>();
        for (int i = 1; i < words.length; i++) {
            args.add("-Dzgres.ctl.arg." + (i - 1) + "=" + words[i]);
        }
        args.add("-Dzgres.ctl.argc=" + (words.length - 1));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.util.logging.config.file=/dev/null",
                "-Dorg.osgi.framework.storage=" + dir.resolve("felix-cache"), "-Dzgres.config.file=" + cfg,
                "-Dgosh.args=--nointeractive", "-Dzgres.ctl=" + line, "-Dorg.slf4j.simpleLogger.logFile=System.err",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.log.org.apache.zookeeper=off",
                "-Dorg.slf4j.simpleLogger.log.org.apache.curator=off"));
        cmd.addAll(args);
        cmd.addAll(List.of("-jar", jar.toString()));
        return runCtl(cmd, words);
    }

    public String logTails() {
        StringBuilder sb = new StringBuilder();
        for (NodeProcess n : nodes) {
            try {
                List<String> lines = Files.readAllLines(n.log());
                sb.append("--- ").append(n.name()).append(" log tail\n");
                lines.subList(Math.max(0, lines.size() - 25), lines.size()).forEach(l -> sb.append(l).append('\n'));
            } catch (IOException e) {
                sb.append("--- ").append(n.name()).append(": no log\n");
            }
        }
        return sb.toString();
    }

    @Override
    public void close() throws Exception {
        for (NodeProcess n : nodes) {
            try {
                n.close();
            } catch (RuntimeException e) {
                e.printStackTrace();
            }
        }
        reader.close();
        observer.close();
        proxies.values().forEach(ps -> ps.forEach(FaultProxy::close));
        zk.close();
        String logs = System.getProperty("zgres.logs");
        if (logs != null) {
            Path dst = Path.of(logs, name + "-" + base.getFileName());
            Files.createDirectories(dst);
            for (NodeProcess n : nodes) {
                if (Files.exists(n.log())) {
                    Files.copy(n.log(), dst.resolve(n.name() + ".log"));
                }
                Path pglog = n.dataDir().resolveSibling(n.dataDir().getFileName() + ".log");
                if (Files.exists(pglog)) {
                    Files.copy(pglog, dst.resolve(n.name() + "-postgresql.log"));
                }
            }
        }
        if (!Boolean.getBoolean("zgres.keep")) {
            try (Stream<Path> s = Files.walk(base)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                // best effort
            }
        }
    }
}
