package zgres.deadman.pg;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import zgres.api.NodeId;
import zgres.api.clone.CommandResult;
import zgres.api.clone.LocalCluster;
import zgres.process.Exec;

/** The local PostgreSQL as clone and archive plugins see it; their programs run as PostgreSQL's OS user. */
final class PgLocalCluster implements LocalCluster {
    private final NodeId id;
    private final PgNode.Spec spec;
    private final PgTools tools;
    private final Path runDir;
    private final Optional<Path> socketDir;

    PgLocalCluster(NodeId id, PgNode.Spec spec, PgTools tools, Path runDir, Optional<Path> socketDir) {
        this.id = id;
        this.runDir = runDir;
        this.spec = spec;
        this.tools = tools;
        this.socketDir = socketDir;
    }

    @Override
    public NodeId id() {
        return id;
    }

    @Override
    public Path dataDirectory() {
        return spec.dataDir();
    }

    @Override
    public Path runDirectory() {
        return runDir;
    }

    @Override
    public Optional<Path> socketDirectory() {
        return socketDir;
    }

    @Override
    public Path binDirectory() {
        return tools.bin();
    }

    @Override
    public String superuser() {
        return spec.superuser();
    }

    @Override
    public String osUser() {
        return tools.user();
    }

    @Override
    public CommandResult run(List<String> command, Map<String, String> env, Duration timeout) throws IOException {
        if (command.isEmpty() || !Path.of(command.get(0)).isAbsolute()) {
            throw new IOException("refusing to run " + command + ": a plugin names its program by an absolute path");
        }
        List<String> cmd = Exec.asUser(tools.user(), new ArrayList<>(command));
        Exec.Result r = Exec.run(cmd, env, timeout);
        return new CommandResult(command, r.exitCode(), r.output(), r.timedOut());
    }

    @Override
    public void writeFile(Path file, String content, String mode) throws IOException {
        tools.writeFile(file, content, mode);
    }

    @Override
    public void createDirectory(Path dir, String mode) throws IOException {
        tools.createDirectory(dir, mode);
    }
}
