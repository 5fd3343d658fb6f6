package zgres.plugin.pgbouncer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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

/**
 * Keeps a pgbouncer's databases in step with the cluster. It owns one file, included from pgbouncer.ini with
 * {@code %include}: for every group a database {@code {group}} pointing at the master and {@code {group}-ro} at a
 * replica (same zone first, then least lag; the master when no replica is healthy). The file is written atomically
 * and only when its content changes; pgbouncer is then reloaded (SIGHUP). With {@code server_fast_close = 1} (set in
 * the pgbouncer zgres manages; required in one it does not) a reload that changes a database's host closes the server
 * connections to the old host at once, or at the end of their transaction, even in session pooling: no connection
 * stays on an old master. Idempotent: the same snapshot changes nothing.
 */
public class PgbouncerSync implements SyncPlugin {
    private static final Logger LOG = LoggerFactory.getLogger(PgbouncerSync.class);

    /** What to write. */
    public record Settings(String name, Path databasesFile, Set<String> groups, String readonlySuffix, String zone,
            String extraParameters) {}

    /** Makes pgbouncer re-read its configuration. */
    @FunctionalInterface
    public interface Reloader {
        void reload() throws Exception;
    }

    private final Settings settings;
    private final Reloader reloader;
    private final Map<String, String> masters = new LinkedHashMap<>();
    private int reloads;
    private String written;

    public PgbouncerSync(Settings settings, Reloader reloader) {
        this.settings = settings;
        this.reloader = reloader;
    }

    @Override
    public synchronized void apply(ClusterSnapshot snapshot) throws Exception {
        Map<String, String> newMasters = new LinkedHashMap<>();
        String content = render(snapshot, newMasters);
        List<String> moved = new ArrayList<>();
        for (Map.Entry<String, String> e : masters.entrySet()) {
            String now = newMasters.get(e.getKey());
            if (!e.getValue().equals(now)) {
                moved.add(e.getKey());
            }
        }
        boolean changed = !content.equals(written) || !Files.exists(settings.databasesFile())
                || !content.equals(Files.readString(settings.databasesFile()));
        if (!changed && moved.isEmpty()) {
            return;
        }
        if (changed) {
            writeAtomically(settings.databasesFile(), content);
            LOG.info("[{}] wrote {} ({} groups)", settings.name(), settings.databasesFile(), newMasters.size());
        }
        reloader.reload();
        reloads++;
        if (!moved.isEmpty()) {
            LOG.warn("[{}] master of {} moved: pgbouncer reloaded; server_fast_close closes every connection still on "
                    + "the old master", settings.name(), moved);
        }
        written = content;
        masters.clear();
        masters.putAll(newMasters);
    }

    /** @return how many times pgbouncer was told to RELOAD (tests check that the same snapshot changes nothing) */
    public synchronized int reloads() {
        return reloads;
    }

    /** The databases file for a snapshot; fills {@code masters} with each routed group's master address. */
    String render(ClusterSnapshot snapshot, Map<String, String> masterOut) {
        StringBuilder sb = new StringBuilder();
        sb.append("; managed by zgres (").append(settings.name()).append("): do not edit, it is rewritten\n");
        sb.append("[databases]\n");
        for (GroupState g : snapshot.groups().values()) {
            if (!settings.groups().isEmpty() && !settings.groups().contains(g.name())) {
                continue;
            }
            Optional<ConnInfo> master = g.masterConn();
            if (master.isPresent()) {
                sb.append(entry(g.name(), master.get()));
                masterOut.put(g.name(), master.get().address());
            }
            Optional<ConnInfo> ro = replica(g).or(() -> master);
            ro.ifPresent(r -> sb.append(entry(g.name() + settings.readonlySuffix(), r)));
        }
        return sb.toString();
    }

    private String entry(String db, ConnInfo c) {
        // checked again where it is written: one line per database, nothing a host could add to it
        return db + " = host=" + HostName.require(c.host()) + " port=" + c.port() + " dbname=" + c.dbname()
                + (settings.extraParameters().isBlank() ? "" : " " + settings.extraParameters().trim()) + "\n";
    }

    /** The replica for read-only traffic: same zone as this pgbouncer first, then least lag, then node id. */
    Optional<ConnInfo> replica(GroupState g) {
        Comparator<Map.Entry<NodeId, ConnInfo>> order = Comparator
                .comparing((Map.Entry<NodeId, ConnInfo> e) -> settings.zone().isEmpty()
                        || !settings.zone().equals(e.getValue().zone()))
                .thenComparingLong(e -> g.state(e.getKey()).map(NodeState::lagBytes).orElse(Long.MAX_VALUE))
                .thenComparing(Map.Entry::getKey);
        return g.replicaConns().entrySet().stream().sorted(order).map(Map.Entry::getValue).findFirst();
    }

    /** Writes {@code file} atomically (a new file renamed over it), readable by everyone. */
    static void writeAtomically(Path file, String content) throws IOException {
        writeAtomically(file, content, "rw-r--r--");
    }

    /** Writes {@code file} atomically with the given mode from its creation (never readable by others before). */
    static void writeAtomically(Path file, String content, String mode) throws IOException {
        AtomicFile.write(file, content, mode);
    }
}
