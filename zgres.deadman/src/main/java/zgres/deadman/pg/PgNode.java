package zgres.deadman.pg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ConnInfo;
import zgres.process.AtomicFile;
import zgres.process.Exec;
import zgres.process.Signals;

/**
 * One local PostgreSQL cluster: its data directory, the binaries that create, clone, rewind and start it, and the
 * supervisor that runs it. Not thread-safe: only the deadman's loop calls it.
 */
public final class PgNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PgNode.class);

    /** Everything PgNode needs to know about the node. */
    public record Spec(String name, String host, int port, Path dataDir, String dbname, String superuser,
            String superuserPassword, String replicationUser, String replicationPassword, Path logFile,
            List<String> parameters, List<String> hba) {}

    private final Spec spec;
    private final PgTools tools;
    private final Path runDir;
    private final Libpq libpq;
    private final DataDirectory data;
    private final PgLocalCluster local;
    private Path script;
    private final LocalConnection jdbc;
    private volatile Supervisor supervisor;

    public PgNode(Spec spec, PgTools tools) throws IOException {
        this.spec = spec;
        this.tools = tools;
        this.runDir = spec.dataDir().toAbsolutePath().resolveSibling(spec.dataDir().getFileName() + ".zgres");
        this.jdbc = new LocalConnection(spec.host(), spec.port(), spec.dbname(), spec.superuser(),
                spec.superuserPassword());
        tools.createDirectory(runDir, "rwx------");
        this.script = supervisorScript();
        this.libpq = new Libpq(spec, tools, runDir.resolve("pgpass"));
        this.data = new DataDirectory(spec, tools, runDir, libpq);
        this.local = new PgLocalCluster(zgres.api.NodeId.parse(spec.name()), spec, tools, runDir,
                runDir.toString().length() < 90 ? Optional.of(runDir) : Optional.empty());
    }

    /**
     * The bundle's copy of supervisor.pl, written into a new private directory of this JVM's user (mode 700, an
     * unguessable name): this JVM runs it, so nobody else (PostgreSQL's user included) may be able to change it.
     */
    private static Path supervisorScript() throws IOException {
        Path dir = Files.createTempDirectory("zgres-supervisor-", java.nio.file.attribute.PosixFilePermissions
                .asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        Path f = dir.resolve("supervisor.pl");
        try (InputStream in = PgNode.class.getResourceAsStream("/zgres/deadman/supervisor.pl")) {
            if (in == null) {
                throw new IOException("supervisor.pl is missing from the deadman bundle");
            }
            AtomicFile.write(f, in.readAllBytes(), java.nio.file.attribute.PosixFilePermissions.fromString(
                    "r--------"), t -> { });
        }
        return f;
    }

    /** @return the supervisor script, written again if something removed it (a /tmp cleaner) */
    private Path script() throws IOException {
        if (!Files.isRegularFile(script, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            script = supervisorScript();
        }
        return script;
    }

    public Spec spec() {
        return spec;
    }

    public PgTools tools() {
        return tools;
    }

    public Path dataDir() {
        return spec.dataDir();
    }

    /** @return the data directory and the files in it */
    public DataDirectory data() {
        return data;
    }

    /** @return the local cluster as clone and archive plugins see it */
    public zgres.api.clone.LocalCluster local() {
        return local;
    }

    /** @return the environment libpq programs run with (the passfile) */
    public java.util.Map<String, String> libpqEnv() {
        return libpq.env();
    }

    /** @return connection strings to other nodes and the passfile they use */
    public Libpq libpq() {
        return libpq;
    }

    public LocalConnection jdbc() {
        return jdbc;
    }

    public Optional<Supervisor> supervisor() {
        return Optional.ofNullable(supervisor);
    }

    // ------------------------------------------------------------------ data directory

    /**
     * Moves the data directory aside, leaving an empty one for a new clone (never while PostgreSQL runs; nothing is
     * deleted: see {@link DataDirectory#moveAside}).
     */
    public Optional<Path> moveAside(String why) throws IOException {
        if (running()) {
            throw new IllegalStateException("refusing to move " + spec.dataDir() + " while PostgreSQL runs");
        }
        killStrayPostmaster();
        return data.moveAside(why);
    }

    // ------------------------------------------------------------------ creating a cluster

    /** Creates the replication role on a freshly bootstrapped master. */
    public void createReplicationRole() throws SQLException {
        String pw = spec.replicationPassword().isEmpty() ? "" : " PASSWORD '"
                + spec.replicationPassword().replace("'", "''") + "'";
        String role = spec.replicationUser().replace("\"", "\"\"");
        jdbc.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '"
                + spec.replicationUser().replace("'", "''") + "') THEN CREATE ROLE \"" + role
                + "\" WITH REPLICATION LOGIN" + pw + "; END IF; END $$", 30);
    }

    /** @throws SourceCheck.Refused when {@code from} is not this group's server ({@link SourceCheck#forClone}) */
    public void checkCloneSource(ConnInfo from, String dbId) throws IOException {
        SourceCheck.forClone(from, spec.replicationUser(), spec.replicationPassword(), dbId);
    }

    /**
     * Rewinds this (stopped) cluster onto {@code source}'s timeline, after checking that the source is this group's
     * ({@link SourceCheck#forRewind}). pg_rewind runs crash recovery first when the cluster was not shut down cleanly
     * (a fenced master).
     *
     * @return pg_rewind's output
     */
    public String rewind(ConnInfo source, String dbId, int localTimeline) throws RewindFailure {
        if (running()) {
            throw new IllegalStateException("pg_rewind needs PostgreSQL stopped");
        }
        try {
            checkpoint(source);
            SourceCheck.forRewind(source, spec.superuser(), spec.superuserPassword(), dbId, localTimeline);
        } catch (SourceCheck.Refused e) {
            throw new RewindFailure(RewindFailure.Kind.SOURCE_REFUSED, e.getMessage(), e);
        } catch (IOException e) {
            throw new RewindFailure(RewindFailure.Kind.SOURCE_UNREACHABLE, e.getMessage(), e);
        }
        Exec.Result r;
        try {
            killStrayPostmaster();
            Files.deleteIfExists(spec.dataDir().resolve("standby.signal"));
            r = tools.run(Duration.ofHours(2), libpq.env(), "pg_rewind", "--target-pgdata=" + spec.dataDir(),
                    "--source-server=" + libpq.conninfo(source, spec.superuser(), false));
        } catch (IOException e) {
            throw new RewindFailure(RewindFailure.Kind.FAILED, e.getMessage(), e);
        }
        if (!r.ok()) {
            // pg_rewind's own words for a source it could not reach (libpq's messages)
            boolean unreachable = r.output().contains("could not connect") || r.output().contains(
                    "connection to server");
            throw new RewindFailure(unreachable ? RewindFailure.Kind.SOURCE_UNREACHABLE : RewindFailure.Kind.FAILED,
                    r.describe(), null);
        }
        return r.output().strip();
    }

    /**
     * Runs CHECKPOINT on {@code source}: a freshly promoted server's pg_control keeps its old timeline until its
     * end-of-recovery checkpoint, and pg_rewind reads the source's timeline from there.
     */
    void checkpoint(ConnInfo source) throws IOException {
        LocalConnection c = new LocalConnection(source.host(), source.port(), source.dbname(), spec.superuser(),
                spec.superuserPassword());
        try (c) {
            c.execute("CHECKPOINT", 120);
        } catch (SQLException e) {
            throw new IOException("could not connect to " + source.address() + " for CHECKPOINT before pg_rewind: "
                    + e.getMessage(), e);
        }
    }

    private volatile java.util.function.Supplier<String> primarySlot = () -> "";

    /** Runs before every start of PostgreSQL (the WAL archive's settings). */
    @FunctionalInterface
    public interface StartHook {
        void run() throws IOException;
    }

    private volatile StartHook beforeStart = () -> { };

    public void beforeStart(StartHook hook) {
        this.beforeStart = hook;
    }

    /** Where the name of the replication slot this node streams through comes from ("" for none). */
    public void primarySlot(java.util.function.Supplier<String> slot) {
        this.primarySlot = slot;
    }

    /** Makes the stopped cluster a standby of {@code upstream} (or of nobody yet), through its slot. */
    public void configureStandby(Optional<ConnInfo> upstream) throws IOException {
        data.configureStandby(upstream, primarySlot.get());
    }

    /**
     * Points a running standby at another upstream (through its slot there): PostgreSQL reloads primary_conninfo and
     * primary_slot_name without a restart.
     */
    public void repoint(ConnInfo upstream) throws SQLException {
        jdbc.execute("ALTER SYSTEM SET primary_conninfo = " + AutoConf.quote(libpq.conninfo(upstream,
                spec.replicationUser(), true)), 10);
        jdbc.execute("ALTER SYSTEM SET primary_slot_name = " + AutoConf.quote(primarySlot.get()), 10);
        jdbc.execute("SELECT pg_reload_conf()", 10);
    }

    /** Stops following: an empty primary_conninfo (the walreceiver ends at the reload). */
    public void unfollow() throws SQLException {
        jdbc.execute("ALTER SYSTEM SET primary_conninfo = ''", 10);
        jdbc.execute("SELECT pg_reload_conf()", 10);
    }

    /** @return the upstream {@code host:port} of the primary_conninfo a standby is configured with, or empty */
    public String configuredUpstream() {
        try {
            String ci = jdbc.queryOne("SELECT current_setting('primary_conninfo')", 5);
            return Libpq.upstreamOf(ci);
        } catch (SQLException e) {
            return "";
        }
    }

    // ------------------------------------------------------------------ running

    /** @return true while our supervisor's postmaster runs */
    public boolean running() {
        return supervisor != null && supervisor.running();
    }

    /** The postgres command line: node identity on the command line, so that pg_rewind/basebackup keep it. */
    List<String> postgresCommand() {
        List<String> cmd = new ArrayList<>(List.of(tools.tool("postgres").toString(), "-D", spec.dataDir().toString(),
                "-c", "port=" + spec.port(), "-c", "listen_addresses=" + spec.host(), "-c",
                "cluster_name=" + spec.name()));
        String sockets = runDir.toString().length() < 90 ? runDir.toString() : "";
        cmd.addAll(List.of("-c", "unix_socket_directories=" + sockets));
        return cmd;
    }

    /**
     * Starts PostgreSQL under a new supervisor.
     *
     * @param armedDeadline the lease deadline when starting as master; empty for a standby
     */
    public Supervisor start(OptionalLong armedDeadline, Consumer<String> events) throws IOException {
        if (running()) {
            throw new IllegalStateException("PostgreSQL already runs");
        }
        if (!data.hasStandbySignal() && armedDeadline.isEmpty()) {
            throw new IllegalStateException("refusing to start a primary without a lease");
        }
        killStrayPostmaster();
        closeSupervisor();
        beforeStart.run();
        supervisor = Supervisor.start(spec.name(), script(), tools.user(), spec.logFile(), armedDeadline,
                postgresCommand(), events);
        LOG.info("[{}] started PostgreSQL (pid {}) as {}{}", spec.name(), supervisor.postmasterPid(),
                data.hasStandbySignal() ? "standby" : "primary", armedDeadline.isPresent() ? ", dead man's switch armed"
                        : "");
        return supervisor;
    }

    /** Waits until PostgreSQL accepts connections. */
    public boolean awaitReady(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (!running()) {
                return false;
            }
            if (jdbc.probe().reachable()) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }

    /**
     * Stops PostgreSQL: {@code INT} (fast: disconnects clients, sends all WAL to connected standbys, checkpoints) or
     * {@code QUIT} (immediate). Fences it when it does not stop within {@code timeoutMs}.
     */
    public void stop(String signal, long timeoutMs) {
        requestStop(signal);
        awaitStop(timeoutMs);
    }

    /** Sends PostgreSQL the stop signal and returns at once ({@link #awaitStop} waits for it). */
    public void requestStop(String signal) {
        if (running()) {
            jdbc.close();
            supervisor.stop(signal);
        }
    }

    /** Waits for a stop asked by {@link #requestStop}; fences PostgreSQL when it does not stop within the bound. */
    public void awaitStop(long timeoutMs) {
        if (supervisor == null) {
            return;
        }
        if (!supervisor.awaitExit(timeoutMs)) {
            LOG.warn("[{}] PostgreSQL did not stop within {} ms: fencing it", spec.name(), timeoutMs);
            supervisor.fence("did not stop within " + timeoutMs + " ms");
            supervisor.awaitExit(10_000);
        }
        closeSupervisor();
    }

    /** The dead man's switch: moves the deadline of an armed, running supervisor (see {@link Supervisor#keepalive}). */
    public void keepaliveIfArmed(long deadlineNanos) {
        Supervisor s = supervisor;
        if (s != null && s.isArmed() && s.running()) {
            s.keepalive(deadlineNanos);
        }
    }

    /** The dead man's switch: fences an armed, running PostgreSQL now. */
    public void fenceIfArmed(String reason) {
        Supervisor s = supervisor;
        if (s != null && s.isArmed() && s.running()) {
            s.fence(reason);
        }
    }

    /** Kills PostgreSQL and all its backends at once. */
    public void fence(String reason) {
        jdbc.close();
        if (supervisor != null) {
            supervisor.fence(reason);
            supervisor.awaitExit(10_000);
            closeSupervisor();
        }
        killStrayPostmaster();
    }

    /** Forgets a supervisor whose PostgreSQL has exited. */
    public void closeSupervisor() {
        if (supervisor != null && !supervisor.running()) {
            supervisor.close();
            supervisor = null;
        }
    }

    /** {@code pg_promote()}: ends recovery (after replaying all WAL received) and makes this node writable. */
    public void promote() throws SQLException {
        // pg_promote(true) polls every 100 ms; signalling and polling ourselves every 10 ms ends the outage sooner
        String ok = jdbc.queryOne("SELECT pg_promote(false)", 10);
        if (!"t".equals(ok) && !"true".equals(ok)) {
            throw new SQLException("pg_promote() returned " + ok);
        }
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String recovery = jdbc.queryOne("SELECT pg_is_in_recovery()", 10);
            if ("f".equals(recovery) || "false".equals(recovery)) {
                return;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while waiting for the promotion");
            }
        }
        throw new SQLException("PostgreSQL did not leave recovery within 60 s of pg_promote()");
    }

    /**
     * Kills a postmaster that runs on our data directory without our supervisor (left over from a deadman that
     * was killed together with its supervisor, or started by hand): it could accept writes outside any lease.
     */
    public void killStrayPostmaster() {
        Path pidFile = spec.dataDir().resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return;
        }
        if (supervisor != null && supervisor.postmasterPid() == pid && supervisor.running()) {
            return;
        }
        Optional<ProcessHandle> ph = ProcessHandle.of(pid);
        if (ph.isEmpty() || !ph.get().info().command().map(c -> c.endsWith("postgres")).orElse(false)) {
            return;
        }
        LOG.warn("[{}] a postmaster (pid {}) runs on {} outside zgres: killing it and its backends", spec.name(),
                pid, spec.dataDir());
        try {
            Signals.send(pid, "STOP");
        } catch (IOException e) {
            LOG.debug("kill -STOP failed: {}", e.toString());
        }
        ph.get().children().forEach(ProcessHandle::destroyForcibly);
        ph.get().destroyForcibly();
        try {
            ph.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.error("[{}] stray postmaster {} did not die", spec.name(), pid);
        }
    }

    @Override
    public void close() {
        jdbc.close();
        if (supervisor != null) {
            supervisor.close();
            supervisor = null;
        }
        try {
            Files.deleteIfExists(script);
            Files.deleteIfExists(script.getParent());
        } catch (IOException e) {
            LOG.debug("[{}] could not remove {}: {}", spec.name(), script, e.toString());
        }
    }
}
