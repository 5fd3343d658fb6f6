package zgres.clone.pgbackrest;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import zgres.api.clone.CommandResult;
import zgres.api.clone.LocalCluster;

/**
 * pgBackRest for one local node: its configuration file (in the node's run directory: the data directory, port and
 * socket of this node, the shared repository), and the commands run with it as PostgreSQL's user.
 */
final class NodeRepo {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The newest backup in the repository. */
    record Backup(String label, String type, Instant stop) {}

    private final LocalCluster node;
    private final Settings settings;
    private final Path dir;
    private String written = "";

    NodeRepo(LocalCluster node, Settings settings) {
        this.node = node;
        this.settings = settings;
        this.dir = node.runDirectory().resolve("pgbackrest");
        Settings.safePath("the node's run directory", dir);
    }

    LocalCluster node() {
        return node;
    }

    String stanza() {
        return settings.stanza().isEmpty() ? node.id().group() : settings.stanza();
    }

    Path configFile() {
        return dir.resolve("pgbackrest.conf");
    }

    /** Writes the node's configuration file when it changed. */
    synchronized void writeConfig() throws IOException {
        Path socket = node.socketDirectory().orElseThrow(() -> new IOException("PostgreSQL of " + node.id()
                + " has no Unix socket directory (its run directory's path is too long): pgBackRest connects "
                + "through the socket"));
        Settings.safePath("the socket directory", socket);
        Settings.safePath("the data directory", node.dataDirectory());
        StringBuilder c = new StringBuilder();
        c.append("# written by zgres (zgres.clone.pgbackrest) for ").append(node.id()).append(": changes are lost\n");
        c.append("[global]\n");
        c.append("repo1-path=").append(settings.repo()).append('\n');
        c.append("repo1-retention-full=").append(settings.retentionFull()).append('\n');
        c.append("log-path=").append(dir.resolve("log")).append('\n');
        c.append("lock-path=").append(dir.resolve("lock")).append('\n');
        c.append("spool-path=").append(dir.resolve("spool")).append('\n');
        c.append("log-level-console=warn\nlog-level-file=info\nstart-fast=y\n");
        c.append("compress-type=").append(settings.compressType()).append('\n');
        c.append("process-max=").append(settings.processMax()).append('\n');
        c.append("archive-timeout=").append(settings.archiveTimeoutS()).append('\n');
        c.append('\n').append('[').append(stanza()).append("]\n");
        c.append("pg1-path=").append(node.dataDirectory()).append('\n');
        c.append("pg1-port=").append(node.id().port()).append('\n');
        c.append("pg1-socket-path=").append(socket).append('\n');
        c.append("pg1-user=").append(node.superuser()).append('\n');
        String text = c.toString();
        if (text.equals(written)) {
            return;
        }
        node.createDirectory(dir, "rwx------");
        for (String d : List.of("log", "lock", "spool")) {
            node.createDirectory(dir.resolve(d), "rwx------");
        }
        node.createDirectory(settings.repo(), "rwx------");
        node.writeFile(configFile(), text, "rw-------");
        written = text;
    }

    private String prefix() {
        return settings.bin() + " --config=" + configFile() + " --stanza=" + stanza();
    }

    String archiveCommand() throws IOException {
        writeConfig();
        return prefix() + " archive-push %p";
    }

    String restoreCommand() throws IOException {
        writeConfig();
        return prefix() + " archive-get %f \"%p\"";
    }

    private List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(settings.bin().toString(), "--config=" + configFile(),
                "--stanza=" + stanza()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    CommandResult run(Duration timeout, String... args) throws IOException {
        writeConfig();
        return node.run(command(args), Map.of("LC_ALL", "C"), timeout);
    }

    /** Restores the latest backup into {@code target} as a standby that reads the archive. */
    void restore(Path target) throws IOException {
        Settings.safePath("the restore target", target);
        CommandResult r = run(Duration.ofHours(6), "--pg1-path=" + target, "--type=standby",
                "--recovery-option=restore_command=" + restoreCommand(), "restore");
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
    }

    /** @return the newest backup of the stanza, or empty when there is none (or no stanza yet) */
    Optional<Backup> latest() throws IOException {
        CommandResult r = run(Duration.ofMinutes(2), "--output=json", "info");
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        JsonNode all = JSON.readTree(r.output());
        for (JsonNode st : all) {
            JsonNode backups = st.path("backup");
            if (backups.isArray() && backups.size() > 0) {
                JsonNode b = backups.get(backups.size() - 1);
                return Optional.of(new Backup(b.path("label").asText(), b.path("type").asText(), Instant
                        .ofEpochSecond(b.path("timestamp").path("stop").asLong())));
            }
        }
        return Optional.empty();
    }
}
