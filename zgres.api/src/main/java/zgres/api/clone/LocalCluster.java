package zgres.api.clone;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

import zgres.api.NodeId;

/**
 * What a deadman tells clone and archive plugins about its local PostgreSQL, and how they run programs: always as
 * PostgreSQL's OS user, never through a shell, every program and path chosen by local configuration (never by
 * ZooKeeper).
 */
@ProviderType
public interface LocalCluster {
    NodeId id();

    /** @return the data directory PostgreSQL runs from */
    Path dataDirectory();

    /**
     * @return the node's private directory next to its data directory (mode 700, owned by PostgreSQL's user), where
     *         plugins keep their files for the node
     */
    Path runDirectory();

    /** @return the directory of PostgreSQL's Unix socket, when it has one */
    Optional<Path> socketDirectory();

    /** @return the directory of the PostgreSQL binaries */
    Path binDirectory();

    /** @return the database superuser (the OS user of the same name connects over the socket) */
    String superuser();

    /** @return the OS user PostgreSQL runs as */
    String osUser();

    /** Runs {@code command} as PostgreSQL's OS user, its output captured, killed after {@code timeout}. */
    CommandResult run(List<String> command, Map<String, String> env, Duration timeout) throws IOException;

    /** Writes a file owned by PostgreSQL's OS user, atomically, with the given mode ({@code rw-------}). */
    void writeFile(Path file, String content, String mode) throws IOException;

    /** Creates a directory (and missing parents) owned by PostgreSQL's OS user with the given mode. */
    void createDirectory(Path dir, String mode) throws IOException;
}
