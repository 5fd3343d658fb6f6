package zgres.plugin.apply;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.api.ClusterSnapshot;
import zgres.api.ConnInfo;
import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.sync.SyncPlugin;
import zgres.process.AtomicFile;
import zgres.process.Exec;

/**
 * The seed's "apply": writes the healthy and master information (the {@code /conn} and {@code /lock} znodes, not the
 * volatile {@code /state}) as JSON to a file, atomically, and runs the configured executables in order with its
 * path, when the content changed and at every resync. A failing executable is logged with its exit code and output
 * and the snapshot retried.
 */
public class ApplySync implements SyncPlugin {
    private static final Logger LOG = LoggerFactory.getLogger(ApplySync.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    public record Settings(String name, Path file, List<String> executables, long timeoutMs) {}

    private final Settings settings;
    private String applied;

    public ApplySync(Settings settings) {
        this.settings = settings;
    }

    /** The JSON document for a snapshot. */
    public static String render(ClusterSnapshot s) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode masters = root.putObject("masters");
        ObjectNode healthy = root.putObject("healthy");
        ObjectNode groups = root.putObject("groups");
        for (GroupState g : s.groups().values()) {
            ObjectNode go = groups.putObject(g.name());
            if (g.masterConn().isPresent()) {
                NodeId m = g.master().orElseThrow();
                masters.put(g.name(), m.toString());
                go.set("master", conn(m, g.masterConn().get()));
            } else {
                go.putNull("master");
            }
            ArrayNode replicas = go.putArray("replicas");
            for (Map.Entry<NodeId, ConnInfo> e : g.replicaConns().entrySet()) {
                replicas.add(conn(e.getKey(), e.getValue()));
            }
            for (Map.Entry<NodeId, ConnInfo> e : g.conns().entrySet()) {
                healthy.set(e.getKey().toString(), conn(e.getKey(), e.getValue()));
            }
        }
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode conn(NodeId id, ConnInfo c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("node", id.toString());
        o.put("group", id.group());
        o.put("host", c.host());
        o.put("port", c.port());
        o.put("dbname", c.dbname());
        o.put("zone", c.zone());
        return o;
    }

    @Override
    public synchronized void apply(ClusterSnapshot snapshot) throws Exception {
        String content = render(snapshot);
        if (content.equals(applied) && Files.exists(settings.file())) {
            return;
        }
        Path f = settings.file().toAbsolutePath();
        AtomicFile.write(f, content, "rw-r--r--");
        for (String exe : settings.executables()) {
            run(exe, f);
        }
        applied = content;
        LOG.info("[{}] applied {} ({} executable(s))", settings.name(), f, settings.executables().size());
    }

    /** Runs one executable with the file's path; its output is read while it runs (any size) and logged. */
    private void run(String exe, Path file) throws IOException {
        Exec.Result r = Exec.run(List.of(exe, file.toString()), Map.of(), Duration.ofMillis(settings.timeoutMs()));
        String text = r.output().strip();
        if (r.timedOut()) {
            throw new IOException(exe + " did not finish within " + settings.timeoutMs() + " ms");
        }
        if (!r.ok()) {
            throw new IOException(exe + " " + file + " exited with " + r.exitCode()
                    + (text.isEmpty() ? "" : ": " + (text.length() > 2000 ? text.substring(text.length() - 2000) : text)));
        }
        if (!text.isEmpty()) {
            LOG.info("[{}] {}: {}", settings.name(), exe, text.length() > 500 ? text.substring(text.length() - 500) : text);
        }
    }
}
