package zgres.zookeeper.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

import zgres.zookeeper.ZkAcls;

/**
 * A local file holding a secret (ZooKeeper credentials, a keystore password): read only when it is a regular file
 * (not a link) that belongs to the user this runtime runs as and that nobody else may read or write. The secret
 * never appears in a message.
 */
final class SecretFile {
    private static final Set<PosixFilePermission> OTHERS = EnumSet.of(PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private SecretFile() {
    }

    /**
     * Checks that {@code file} may hold a secret.
     *
     * @param key the configuration key naming it (for the message)
     * @return the absolute path
     * @throws IllegalArgumentException naming the key, the file and what is wrong
     */
    static Path check(String key, String file) throws IOException {
        if (file == null || file.isBlank()) {
            throw new IllegalArgumentException(key + " is empty");
        }
        Path p = Path.of(file);
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException(key + ": '" + file + "' must be an absolute path");
        }
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(key + ": " + p + " does not exist");
        }
        if (Files.isSymbolicLink(p) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(key + ": " + p + " must be a regular file, not a link");
        }
        String owner = Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName();
        String me = System.getProperty("user.name");
        if (!owner.equals(me)) {
            throw new IllegalArgumentException(key + ": " + p + " belongs to " + owner + ", not to " + me
                    + " (the user this runtime runs as)");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
        Set<PosixFilePermission> extra = EnumSet.copyOf(OTHERS);
        extra.retainAll(perms);
        if (!extra.isEmpty()) {
            throw new IllegalArgumentException(key + ": " + p + " is open to others (" + PosixFilePermissions.toString(
                    perms) + "): chmod 600 " + p);
        }
        return p;
    }

    /** ZooKeeper digest credentials read from a {@code user:password} file. */
    record Digest(String user, byte[] auth, String id) {
        @Override
        public String toString() {
            return id; // never the password
        }
    }

    /** Reads {@code user:password} (one line) from a checked file. */
    static Digest digest(String key, String file) throws IOException {
        Path p = check(key, file);
        String line = Files.readString(p, StandardCharsets.UTF_8).lines().map(String::strip).filter(l -> !l.isEmpty()
                && !l.startsWith("#")).findFirst().orElse("");
        int colon = line.indexOf(':');
        if (colon <= 0 || colon == line.length() - 1) {
            throw new IllegalArgumentException(key + ": " + p + " must hold one line user:password");
        }
        String user = line.substring(0, colon);
        if (!user.matches("[A-Za-z0-9._-]{1,64}")) {
            throw new IllegalArgumentException(key + ": " + p + ": the user name must be 1 to 64 of A-Z a-z 0-9 . _ -");
        }
        return new Digest(user, line.getBytes(StandardCharsets.UTF_8), ZkAcls.digestId(line));
    }
}
