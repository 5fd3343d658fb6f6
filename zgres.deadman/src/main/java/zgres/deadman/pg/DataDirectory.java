package zgres.deadman.pg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ConnInfo;
import zgres.api.Lsn;
import zgres.process.Exec;

/**
 * The local cluster's data directory and what is written into it: created by {@code initdb} with the zgres settings,
 * made a standby, read (empty? a cluster? pg_control, WAL timelines), emptied. Whether PostgreSQL runs is
 * {@link PgNode}'s business: it empties this directory only while PostgreSQL is stopped.
 */
public final class DataDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(DataDirectory.class);

    private final PgNode.Spec spec;
    private final PgTools tools;
    private final Path runDir;
    private final Libpq libpq;

    DataDirectory(PgNode.Spec spec, PgTools tools, Path runDir, Libpq libpq) {
        this.spec = spec;
        this.tools = tools;
        this.runDir = runDir;
        this.libpq = libpq;
    }

    public Path path() {
        return spec.dataDir();
    }

    /** @return true when the data directory is missing or empty */
    public boolean empty() throws IOException {
        Path d = spec.dataDir();
        if (!Files.exists(d)) {
            return true;
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.findAny().isEmpty();
        }
    }

    /** @return true when the data directory holds a PostgreSQL cluster */
    public boolean isCluster() {
        return Files.isRegularFile(spec.dataDir().resolve("PG_VERSION"))
                && Files.isRegularFile(spec.dataDir().resolve("global/pg_control"));
    }

    public boolean hasStandbySignal() {
        return Files.exists(spec.dataDir().resolve("standby.signal"));
    }

    /**
     * @return the newest timeline in the names of the WAL segments in {@code pg_wal} (0 when none): the timeline a
     *         standby last received WAL on, even when it does not stream now
     */
    public int newestSegmentTimeline() {
        try (Stream<Path> s = Files.list(spec.dataDir().resolve("pg_wal"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9A-F]{24}"))
                    .mapToInt(n -> Integer.parseInt(n.substring(0, 8), 16)).max().orElse(0);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    public ControlData controlData() throws IOException {
        return ControlData.read(tools, spec.dataDir());
    }

    /** @return the latest checkpoint's location (read from pg_control directly when possible) */
    public Lsn checkpointLsn() throws IOException {
        return ControlData.checkpointLsn(tools, spec.dataDir());
    }

    /** @return the shutdown checkpoint's location once a stopping primary has written it (see ControlData) */
    public Optional<Lsn> shutdownCheckpoint() {
        return ControlData.shutdownCheckpoint(spec.dataDir());
    }

    /** Deletes the directory's contents (the caller makes sure PostgreSQL is stopped). */
    void deleteContents() throws IOException {
        Path d = spec.dataDir();
        if (Files.exists(d)) {
            try (Stream<Path> s = Files.walk(d)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    if (!p.equals(d)) {
                        Files.delete(p);
                    }
                }
            }
        }
        LOG.warn("[{}] deleted the contents of {}", spec.name(), d);
    }

    /** {@code initdb} (with checksums, so that pg_rewind works) and the zgres settings. */
    public void initdb() throws IOException {
        tools.createDirectory(spec.dataDir(), "rwx------");
        if (spec.superuserPassword().isEmpty() || spec.replicationPassword().isEmpty()) {
            throw new IOException("refusing to bootstrap without superuser_password and replication_password (no "
                    + "trust authentication)");
        }
        // passwords over TCP; over the (private) socket only the OS user of the same name: never trust
        String method = "scram-sha-256";
        List<String> args = new ArrayList<>(List.of("-D", spec.dataDir().toString(), "-U", spec.superuser(),
                "--data-checksums", "-E", "UTF8", "--locale=C", "--auth-local=peer", "--auth-host=" + method));
        Path pw = runDir.resolve("initdb.pw");
        tools.writeFile(pw, spec.superuserPassword() + "\n", "rw-------");
        args.add("--pwfile=" + pw);
        try {
            Exec.Result r = tools.run(Duration.ofMinutes(5), Map.of("LC_ALL", "C"), "initdb",
                    args.toArray(String[]::new));
            if (!r.ok()) {
                throw new IOException(r.describe());
            }
        } finally {
            Files.deleteIfExists(pw);
        }
        StringBuilder conf = new StringBuilder(Files.readString(spec.dataDir().resolve("postgresql.conf")));
        conf.append("\n# ---- zgres (node identity - port, listen_addresses, cluster_name - is on the command line)\n");
        for (String p : List.of("wal_level = replica", "hot_standby = on", "wal_log_hints = on",
                "max_wal_senders = 10", "max_replication_slots = 10", "wal_keep_size = '256MB'",
                "hot_standby_feedback = on", "wal_receiver_status_interval = '1s'", "wal_sender_timeout = '15s'",
                "wal_receiver_timeout = '15s'", "wal_retrieve_retry_interval = '500ms'",
                "log_line_prefix = '%m [%p] %q%u@%d '", "logging_collector = off",
                // after a crash PostgreSQL fsyncs every file of the data directory before recovery: one syncfs()
                // instead takes milliseconds rather than seconds, and the crashed master is back that much sooner
                "recovery_init_sync_method = syncfs")) {
            conf.append(p).append('\n');
        }
        for (String p : spec.parameters()) {
            conf.append(p).append('\n');
        }
        tools.writeFile(spec.dataDir().resolve("postgresql.conf"), conf.toString(), "rw-------");
        StringBuilder hba = new StringBuilder(Files.readString(spec.dataDir().resolve("pg_hba.conf")));
        hba.append("\n# ---- zgres\n");
        hba.append("host replication ").append(spec.replicationUser()).append(" all ").append(method).append('\n');
        hba.append("host all all all ").append(method).append('\n');
        for (String h : spec.hba()) {
            hba.append(h).append('\n');
        }
        tools.writeFile(spec.dataDir().resolve("pg_hba.conf"), hba.toString(), "rw-------");
        LOG.info("[{}] initdb done in {}", spec.name(), spec.dataDir());
    }

    /** Makes the stopped cluster a standby of {@code upstream} (or of nobody yet). */
    public void configureStandby(Optional<ConnInfo> upstream) throws IOException {
        tools.writeFile(spec.dataDir().resolve("standby.signal"), "", "rw-------");
        AutoConf.update(tools, spec.dataDir(), Map.of("primary_conninfo",
                upstream.map(u -> libpq.conninfo(u, spec.replicationUser(), true)).orElse(""),
                "recovery_target_timeline", "latest"));
    }
}
