package zgres.clone.pgbackrest;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.NodeId;
import zgres.api.Role;
import zgres.api.clone.CloneMethod;
import zgres.api.clone.CloneRequest;
import zgres.api.clone.CommandResult;
import zgres.api.clone.LocalCluster;
import zgres.api.clone.WalArchive;
import zgres.api.deadman.MetadataProvider;
import zgres.api.deadman.NodeContext;
import zgres.api.metrics.MetricSource;
import zgres.api.metrics.MetricWriter;

/**
 * pgBackRest for the groups of this runtime's deadmen: the WAL archive ({@code wal_archive = pgbackrest}), the clone
 * method {@code pgbackrest} (the latest backup restored as a standby that reads the archive, then streams), and
 * backups taken by the master on a schedule ({@code backup_interval_s}) or from the console ({@code zgres:backup}).
 * The master creates the stanza. Learns which local node is master from the metadata calls of its deadman, and
 * publishes the newest backup in the master's {@code /state} ({@code backup}).
 */
@Component(service = {CloneMethod.class, WalArchive.class, MetadataProvider.class, MetricSource.class,
    PgBackRest.class}, configurationPid = PgBackRest.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = PgBackRest.Config.class)
public class PgBackRest implements CloneMethod, WalArchive, MetadataProvider, MetricSource {
    public static final String PID = "zgres.clone.pgbackrest";
    private static final Logger LOG = LoggerFactory.getLogger(PgBackRest.class);
    private static final long INFO_REFRESH_MS = 600_000;

    @ObjectClassDefinition(name = "zgres pgBackRest: WAL archive, backups, clone method")
    public @interface Config {
        @AttributeDefinition(description = "The pgbackrest program (local file only)")
        String pgbackrest__bin() default "/usr/bin/pgbackrest";

        @AttributeDefinition(description = "Repository directory: local, or a mount every node of the group shares "
                + "(local file only)")
        String repo__path();

        @AttributeDefinition(description = "Stanza (default: the node's group name; local file only)")
        String stanza() default "";

        @AttributeDefinition(description = "The master takes a backup when the newest is older than this, s (0: "
                + "only on demand, zgres:backup)", min = "0")
        long backup__interval__s() default 0;

        @AttributeDefinition(description = "Type of scheduled backups (pgBackRest makes the first one full)",
                options = {@Option(value = "full"), @Option(value = "diff"), @Option(value = "incr")})
        String backup__type() default "full";

        @AttributeDefinition(description = "Full backups kept (local file only: it decides what is deleted)",
                min = "1")
        int retention__full() default 2;

        @AttributeDefinition(description = "Parallel processes for backup and restore", min = "1", max = "64")
        int process__max() default 2;

        @AttributeDefinition(description = "Compression", options = {@Option(value = "lz4"), @Option(value = "zst"),
            @Option(value = "gz"), @Option(value = "none")})
        String compress__type() default "lz4";

        @AttributeDefinition(description = "How long a backup waits for its WAL to be archived, s", min = "1")
        int archive__timeout__s() default 60;
    }

    private volatile Settings settings;
    private final Map<NodeId, NodeRepo> nodes = new ConcurrentHashMap<>();
    /** a local node's role as its deadman last reported it, and when ({@link System#nanoTime()}) */
    private record Reported(Role role, long at) {}

    /** a role reported longer ago than this is not believed (the deadman stopped, or PostgreSQL is down) */
    private static final long ROLE_FRESH_NS = TimeUnit.SECONDS.toNanos(10);
    private final Map<NodeId, Reported> roles = new ConcurrentHashMap<>();
    private final Map<String, Boolean> stanzaReady = new ConcurrentHashMap<>();
    private final Map<String, NodeRepo.Backup> latest = new ConcurrentHashMap<>();
    private final Map<String, Long> infoAt = new ConcurrentHashMap<>();
    private final AtomicLong backupsOk = new AtomicLong();
    private final AtomicLong backupsFailed = new AtomicLong();
    private final Object backupLock = new Object();
    private ScheduledExecutorService scheduler;

    /** ZooKeeper, where {@code zgres:backup} asks for a backup ({@code /backup/{group}}) */
    @org.osgi.service.component.annotations.Reference
    volatile zgres.zookeeper.Coordination zk;

    @Activate
    void activate(Config c) {
        settings = Settings.from(c);
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "zgres-pgbackrest");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::tick, 2, 5, TimeUnit.SECONDS);
        LOG.info("pgBackRest: repository {}, {}", settings.repo(), settings.backupIntervalS() > 0 ? "a "
                + settings.backupType() + " backup every " + settings.backupIntervalS() + " s" : "backups on demand");
    }

    @Modified
    void modified(Config c) {
        settings = Settings.from(c);
        nodes.replaceAll((id, r) -> new NodeRepo(r.node(), settings));
        stanzaReady.clear();
    }

    @Deactivate
    void deactivate() {
        scheduler.shutdownNow();
    }

    private NodeRepo repo(LocalCluster node) {
        return nodes.compute(node.id(), (id, r) -> r != null && r.node().equals(node) ? r : new NodeRepo(node,
                settings));
    }

    // ------------------------------------------------------------------ WalArchive

    @Override
    public String name() {
        return "pgbackrest";
    }

    @Override
    public String archiveCommand(LocalCluster node) throws IOException {
        return repo(node).archiveCommand();
    }

    @Override
    public String restoreCommand(LocalCluster node) throws IOException {
        return repo(node).restoreCommand();
    }

    // ------------------------------------------------------------------ CloneMethod

    @Override
    public void build(CloneRequest r) throws Exception {
        NodeRepo repo = repo(r.node());
        Optional<NodeRepo.Backup> b = repo.latest();
        if (b.isEmpty()) {
            throw new IOException("no backup in stanza " + repo.stanza() + " of " + settings.repo()
                    + " (the master takes one every backup_interval_s, or zgres:backup)");
        }
        LOG.warn("[{}] restoring backup {} ({}, finished {}) from {}", r.node().id(), b.get().label(),
                b.get().type(), b.get().stop(), settings.repo());
        repo.restore(r.target());
    }

    // ------------------------------------------------------------------ backups

    @Override
    public Map<String, Object> metadata(NodeContext node) {
        roles.put(node.id(), new Reported(node.role(), System.nanoTime()));
        NodeRepo r = nodes.get(node.id());
        if (node.role() != Role.MASTER || r == null) {
            return Map.of();
        }
        NodeRepo.Backup b = latest.get(r.stanza());
        return b == null ? Map.of() : Map.of("backup", b.label() + " (" + b.type() + ", " + b.stop() + ")");
    }

    /** @return the local nodes that are masters now */
    List<NodeRepo> masters() {
        List<NodeRepo> m = new ArrayList<>();
        long now = System.nanoTime();
        nodes.forEach((id, r) -> {
            Reported rep = roles.get(id);
            if (rep != null && rep.role() == Role.MASTER && now - rep.at() < ROLE_FRESH_NS) {
                m.add(r);
            }
        });
        return m;
    }

    private void tick() {
        try {
            for (NodeRepo r : masters()) {
                if (!ensureStanza(r)) {
                    continue;
                }
                requested(r);
                long interval = settings.backupIntervalS();
                Optional<NodeRepo.Backup> last = refreshedLatest(r, false);
                if (interval > 0 && (last.isEmpty() || last.get().stop().plusSeconds(interval).isBefore(
                        Instant.now()))) {
                    backup(r, settings.backupType(), "schedule: the newest backup is " + last.map(b -> "from "
                            + b.stop()).orElse("missing"));
                }
            }
        } catch (RuntimeException e) {
            LOG.error("pgBackRest scheduler: {}", e.toString(), e);
        }
    }

    /** Carries out a backup an operator asked for ({@code zgres:backup}), reporting in the request's znode. */
    private void requested(NodeRepo r) {
        String path = zk.paths().backup(r.node().id().group());
        org.apache.zookeeper.data.Stat stat = new org.apache.zookeeper.data.Stat();
        zgres.api.BackupRequest req;
        try {
            req = zgres.zookeeper.Znodes.decodeBackupRequest(zk.client().getData().storingStatIn(stat)
                    .forPath(path));
        } catch (org.apache.zookeeper.KeeperException.NoNodeException e) {
            return;
        } catch (IllegalArgumentException e) {
            LOG.warn("[{}] ignoring {}: {}", r.node().id(), path, e.getMessage());
            return;
        } catch (Exception e) {
            LOG.debug("[{}] reading {}: {}", r.node().id(), path, e.toString());
            return;
        }
        if (req.stage() != zgres.api.BackupRequest.Stage.REQUESTED) {
            return;
        }
        try {
            // only the lock's holder takes it (a role reported a moment ago may be out of date)
            NodeId holder = zgres.zookeeper.Znodes.decodeLock(r.node().id().group(), zk.client().getData().forPath(
                    zk.paths().lock(r.node().id().group())));
            if (!holder.equals(r.node().id())) {
                return;
            }
        } catch (Exception e) {
            return;
        }
        String me = r.node().id().toString();
        try {
            // taken with the version read: two masters (or two runtimes) never both run it
            stat = zk.client().setData().withVersion(stat.getVersion()).forPath(path, zgres.zookeeper.Znodes.encode(
                    req.at(zgres.api.BackupRequest.Stage.RUNNING, me, "")));
        } catch (Exception e) {
            LOG.debug("[{}] taking {}: {}", r.node().id(), path, e.toString());
            return;
        }
        String outcome = backup(r, req.type(), "requested at " + req.requestedAt() + " (zgres:backup)");
        boolean ok = outcome.startsWith("backup ") && !outcome.startsWith("backup failed");
        try {
            zk.client().setData().withVersion(stat.getVersion()).forPath(path, zgres.zookeeper.Znodes.encode(req.at(
                    ok ? zgres.api.BackupRequest.Stage.DONE : zgres.api.BackupRequest.Stage.FAILED, me, outcome)));
        } catch (Exception e) {
            LOG.warn("[{}] could not report the backup's outcome in {}: {}", r.node().id(), path, e.toString());
        }
    }

    private boolean ensureStanza(NodeRepo r) {
        if (stanzaReady.containsKey(r.stanza())) {
            return true;
        }
        try {
            CommandResult c = r.run(Duration.ofMinutes(5), "stanza-create");
            if (!c.ok()) {
                LOG.warn("[{}] pgBackRest stanza-create {}: {}", r.node().id(), r.stanza(), c.describe());
                return false;
            }
            stanzaReady.put(r.stanza(), true);
            LOG.info("[{}] pgBackRest stanza {} ready in {}", r.node().id(), r.stanza(), settings.repo());
            return true;
        } catch (IOException e) {
            LOG.warn("[{}] pgBackRest stanza-create {}: {}", r.node().id(), r.stanza(), e.getMessage());
            return false;
        }
    }

    private Optional<NodeRepo.Backup> refreshedLatest(NodeRepo r, boolean now) {
        long at = infoAt.getOrDefault(r.stanza(), 0L);
        if (now || System.currentTimeMillis() - at > INFO_REFRESH_MS) {
            try {
                Optional<NodeRepo.Backup> b = r.latest();
                b.ifPresentOrElse(x -> latest.put(r.stanza(), x), () -> latest.remove(r.stanza()));
                infoAt.put(r.stanza(), System.currentTimeMillis());
            } catch (IOException e) {
                LOG.warn("[{}] pgBackRest info: {}", r.node().id(), e.getMessage());
            }
        }
        return Optional.ofNullable(latest.get(r.stanza()));
    }

    /**
     * Takes a backup on a local master now.
     *
     * @return what happened, in words
     */
    String backup(NodeRepo r, String type, String why) {
        synchronized (backupLock) {
            if (!ensureStanza(r)) {
                return "no backup: the stanza " + r.stanza() + " could not be created (see the log)";
            }
            long t0 = System.nanoTime();
            LOG.warn("[{}] pgBackRest {} backup of stanza {} ({})", r.node().id(), type, r.stanza(), why);
            try {
                CommandResult c = r.run(Duration.ofHours(12), "--type=" + type, "backup");
                double s = (System.nanoTime() - t0) / 1e9;
                if (!c.ok()) {
                    backupsFailed.incrementAndGet();
                    String msg = String.format(java.util.Locale.ROOT, "backup failed after %.1f s: %s", s,
                            c.describe());
                    LOG.error("[{}] pgBackRest {}", r.node().id(), msg);
                    return msg;
                }
                backupsOk.incrementAndGet();
                Optional<NodeRepo.Backup> b = refreshedLatest(r, true);
                String msg = String.format(java.util.Locale.ROOT, "backup %s (%s) of stanza %s done in %.1f s",
                        b.map(NodeRepo.Backup::label).orElse("?"), b.map(NodeRepo.Backup::type).orElse(type),
                        r.stanza(), s);
                LOG.warn("[{}] pgBackRest {}", r.node().id(), msg);
                return msg;
            } catch (IOException e) {
                backupsFailed.incrementAndGet();
                LOG.error("[{}] pgBackRest backup: {}", r.node().id(), e.getMessage());
                return "backup failed: " + e.getMessage();
            }
        }
    }

    @Override
    public void collect(MetricWriter out) {
        out.counter("zgres_pgbackrest_backups_total", "pgBackRest backups this runtime took, by result",
                backupsOk.get(), "result", "ok");
        out.counter("zgres_pgbackrest_backups_total", "pgBackRest backups this runtime took, by result",
                backupsFailed.get(), "result", "failed");
        latest.forEach((stanza, b) -> out.gauge("zgres_pgbackrest_last_backup_timestamp_seconds", "When the newest "
                + "backup of a stanza finished (as the master last read it)", b.stop().getEpochSecond(), "stanza",
                stanza));
    }
}
