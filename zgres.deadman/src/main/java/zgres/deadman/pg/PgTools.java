package zgres.deadman.pg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import zgres.process.AtomicFile;
import zgres.process.Exec;

/**
 * The PostgreSQL binaries of one installation, run as the OS user that owns the clusters. initdb refuses to run as
 * root, so when this JVM is root every tool runs through {@code runuser -u <user> --}.
 */
public final class PgTools {
    private final Path bin;
    private final String user;
    private final boolean switchUser;

    public PgTools(Path bin, String user) {
        this.bin = bin;
        this.user = user;
        this.switchUser = isRoot() && !"root".equals(user);
    }

    public static boolean isRoot() {
        return Exec.isRoot();
    }

    /** @return the default OS user for PostgreSQL: {@code postgres} when running as root, else the current user */
    public static String defaultUser() {
        return isRoot() ? "postgres" : System.getProperty("user.name");
    }

    public Path bin() {
        return bin;
    }

    public String user() {
        return user;
    }

    public Path tool(String name) {
        return bin.resolve(name);
    }

    /** @return the command line running {@code tool} as the PostgreSQL user */
    public List<String> command(String tool, List<String> args) {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(tool(tool).toString());
        cmd.addAll(args);
        return switchUser ? Exec.asUser(user, cmd) : cmd;
    }

    public Exec.Result run(Duration timeout, Map<String, String> env, String tool, String... args) throws IOException {
        return Exec.run(command(tool, List.of(args)), env, timeout);
    }

    /** Runs a tool and throws with its output when it fails. */
    public Exec.Result require(Duration timeout, Map<String, String> env, String tool, String... args)
            throws IOException {
        Exec.Result r = run(timeout, env, tool, args);
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
        return r;
    }

    /** Makes {@code path} belong to the PostgreSQL user (a no-op unless this JVM is root). */
    public void own(Path path) throws IOException {
        if (!switchUser) {
            return;
        }
        var lookup = path.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal u = lookup.lookupPrincipalByName(user);
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        view.setOwner(u);
        try {
            GroupPrincipal g = lookup.lookupPrincipalByGroupName(user);
            view.setGroup(g);
        } catch (IOException e) {
            // no group of that name: keep root's group
        }
    }

    /** Creates a directory (and missing parents) owned by the PostgreSQL user with the given mode. */
    public void createDirectory(Path dir, String mode) throws IOException {
        if (!Files.isDirectory(dir)) {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null && !Files.isDirectory(parent)) {
                Files.createDirectories(parent);
                Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
            Files.createDirectory(dir);
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(mode));
        own(dir);
    }

    /** Writes a file owned by the PostgreSQL user, atomically ({@link AtomicFile}: exclusive create, then rename). */
    public void writeFile(Path file, String content, String mode) throws IOException {
        AtomicFile.write(file, content.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                PosixFilePermissions.fromString(mode), this::own);
    }
}
