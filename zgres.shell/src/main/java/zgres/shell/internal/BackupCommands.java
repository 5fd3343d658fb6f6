package zgres.shell.internal;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import zgres.api.BackupRequest;
import zgres.api.GroupName;
import zgres.api.GroupState;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.Coordination;
import zgres.zookeeper.Znodes;

/**
 * {@code zgres:backup}: asks a group's master for a backup now ({@code /backup/{group}}), which its backup plugin
 * (pgBackRest) takes and reports back in the same znode; waits for the outcome.
 */
@Component(service = BackupCommands.class)
@GogoCommand(scope = "zgres", function = {"backup"})
public class BackupCommands {
    /** a request nobody finished within this long counts as abandoned (its master died) */
    static final Duration ABANDONED = Duration.ofHours(12);

    private final Coordination zk;
    private final ClusterCache cache;

    @Activate
    public BackupCommands(@Reference Coordination zk, @Reference ClusterCache cache) {
        this.zk = zk;
        this.cache = cache;
    }

    @Descriptor("Take a backup of a group now, on its master (a backup plugin must run there: pgBackRest)")
    public CharSequence backup(
            @Descriptor("full, diff or incr") @Parameter(names = {"--type"}, absentValue = "full") String type,
            @Descriptor("seconds to wait for the outcome (0: only ask)") @Parameter(names = {"--wait"},
                    absentValue = "3600") int wait,
            @Descriptor("group name") String group) throws Exception {
        GroupName.require(group);
        if (!BackupRequest.TYPES.contains(type)) {
            throw new IllegalArgumentException("--type '" + type + "' must be full, diff or incr");
        }
        if (!cache.awaitInitialized(15, TimeUnit.SECONDS)) {
            throw new IllegalStateException("cannot read ZooKeeper at " + zk.connectString() + " within 15 s");
        }
        GroupState g = cache.snapshot().group(group).orElseThrow(() -> new IllegalArgumentException("no group '"
                + group + "' in ZooKeeper"));
        if (g.master().isEmpty()) {
            throw new IllegalStateException("backup of " + group + " refused: the group has no master");
        }
        String path = zk.paths().backup(group);
        Instant now = Instant.now();
        BackupRequest req = new BackupRequest(type, now, BackupRequest.Stage.REQUESTED, "", "", now);
        Stat stat = new Stat();
        try {
            BackupRequest old = Znodes.decodeBackupRequest(zk.client().getData().storingStatIn(stat).forPath(path));
            if (!old.stage().finished() && old.updatedAt().plus(ABANDONED).isAfter(now)) {
                throw new IllegalStateException("backup of " + group + " refused: a " + old.type() + " backup is "
                        + old.stage().jsonName() + " since " + old.updatedAt() + (old.node().isEmpty() ? ""
                                : " on " + old.node()));
            }
            zk.client().setData().withVersion(stat.getVersion()).forPath(path, Znodes.encode(req));
        } catch (KeeperException.NoNodeException e) {
            zk.client().create().creatingParentsIfNeeded().forPath(path, Znodes.encode(req));
        } catch (IllegalArgumentException e) {
            // an unreadable request is replaced (the reader would ignore it anyway)
            zk.client().setData().forPath(path, Znodes.encode(req));
        }
        if (wait <= 0) {
            return "backup of " + group + " requested from its master " + g.master().get().address();
        }
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(wait);
        BackupRequest seen = req;
        while (System.nanoTime() < deadline) {
            Thread.sleep(500);
            try {
                seen = Znodes.decodeBackupRequest(zk.client().getData().forPath(path));
            } catch (KeeperException.NoNodeException | IllegalArgumentException e) {
                throw new IllegalStateException("backup of " + group + ": the request disappeared or was "
                        + "overwritten (" + e.getMessage() + ")");
            }
            if (!seen.requestedAt().equals(now)) {
                throw new IllegalStateException("backup of " + group + ": another request replaced this one");
            }
            if (seen.stage() == BackupRequest.Stage.DONE) {
                return seen.node() + ": " + seen.message();
            }
            if (seen.stage() == BackupRequest.Stage.FAILED) {
                throw new IllegalStateException(seen.node() + ": " + seen.message());
            }
        }
        return "backup of " + group + " still " + seen.stage().jsonName() + " after " + wait + " s"
                + (seen.stage() == BackupRequest.Stage.REQUESTED ? " (no master took it: does its runtime run the "
                        + "pgBackRest plugin with wal_archive = pgbackrest?)" : " on " + seen.node());
    }
}
