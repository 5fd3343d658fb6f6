package zgres.deadman.pg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
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
 * made a standby, read (empty? a cluster? pg_control, WAL timelines), moved aside (never deleted). Whether PostgreSQL runs is
 * {@link PgNode}'s business: it moves this directory aside only while PostgreSQL is stopped.
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

    /** How many moved-aside copies ({@code <data_dir>.failed-<time>}) may exist before zgres stops moving more. */
    public static final int MAX_FAILED_COPIES = 3;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    /**
     * Moves the data directory aside (never deletes it): renames it to {@code <data_dir>.failed-<UTC time>} next to
     * it and leaves an empty data directory in its place, for a new clone. Refused, changing nothing, when
     * {@link #MAX_FAILED_COPIES} copies are there already (an operator decides what to delete) or when the file
     * system lacks the space a clone of the same size needs. The caller makes sure PostgreSQL is stopped.
     *
     * @return where the directory went, or empty when there was nothing to move (missing or empty)
     */
    Optional<Path> moveAside(String why) throws IOException {
        Path d = spec.dataDir().toAbsolutePath();
        if (empty()) {
            return Optional.empty();
        }
        List<Path> copies = failedCopies();
        if (copies.size() >= MAX_FAILED_COPIES) {
            throw new IOException("not moving " + d + " aside (" + why + "): " + copies.size() + " earlier copies are "
                    + "kept (" + copies.stream().map(p -> p.getFileName().toString()).sorted().toList()
                    + "), the most zgres keeps; delete one (after checking it holds nothing needed) to let it clone "
                    + "again");
        }
        long size = sizeOf(d);
        long free = Files.getFileStore(d.getParent()).getUsableSpace();
        long needed = size + size / 10;
        if (free < needed) {
            throw new IOException("not moving " + d + " aside (" + why + "): a new clone needs about " + mb(needed)
                    + " MB and the file system has " + mb(free) + " MB free (the copy stays where it is)");
        }
        Path aside = d.resolveSibling(d.getFileName() + ".failed-" + STAMP.format(Instant.now()));
        for (int i = 1; Files.exists(aside, LinkOption.NOFOLLOW_LINKS); i++) {
            aside = d.resolveSibling(d.getFileName() + ".failed-" + STAMP.format(Instant.now()) + "-" + i);
        }
        Files.move(d, aside, StandardCopyOption.ATOMIC_MOVE);
        tools.createDirectory(d, "rwx------");
        LOG.warn("[{}] moved the data directory aside ({}): {} -> {} ({} MB); nothing was deleted", spec.name(), why,
                d, aside, mb(size));
        return Optional.of(aside);
    }

    /** @return the moved-aside copies of this data directory */
    public List<Path> failedCopies() throws IOException {
        Path d = spec.dataDir().toAbsolutePath();
        String prefix = d.getFileName() + ".failed-";
        try (Stream<Path> s = Files.list(d.getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
        }
    }

    private static long sizeOf(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0; // a file removed while walking
                }
            }).sum();
        }
    }

    private static long mb(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
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

    /**
     * Makes the stopped cluster a standby of {@code upstream} (or of nobody yet), streaming through the replication
     * slot {@code slot} on it ("" for none).
     */
    public void configureStandby(Optional<ConnInfo> upstream, String slot) throws IOException {
        tools.writeFile(spec.dataDir().resolve("standby.signal"), "", "rw-------");
        AutoConf.update(tools, spec.dataDir(), Map.of("primary_conninfo",
                upstream.map(u -> libpq.conninfo(u, spec.replicationUser(), true)).orElse(""),
                "primary_slot_name", slot, "recovery_target_timeline", "latest"));
    }
}
