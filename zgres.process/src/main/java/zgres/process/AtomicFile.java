package zgres.process;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Set;

/**
 * Writes a file so that readers see the old content or the new one, nothing in between, and so that nobody else can
 * interfere: the new content goes to a temporary file of an unguessable name in the same directory, created
 * exclusively (it never opens an existing file, never follows a link) and with its final mode from the start, which
 * is then renamed over the file.
 */
public final class AtomicFile {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Something to do with the new file before it takes the old one's place (e.g. give it to another owner). */
    @FunctionalInterface
    public interface BeforeRename {
        void accept(Path tmp) throws IOException;
    }

    private AtomicFile() {
    }

    /** Writes {@code content} (UTF-8) with {@code mode} (e.g. {@code rw-------}). */
    public static void write(Path file, String content, String mode) throws IOException {
        write(file, content.getBytes(StandardCharsets.UTF_8), PosixFilePermissions.fromString(mode), t -> { });
    }

    /** Writes {@code content} with {@code perms}; {@code beforeRename} runs on the complete temporary file. */
    public static void write(Path file, byte[] content, Set<PosixFilePermission> perms, BeforeRename beforeRename)
            throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".tmp");
        Set<OpenOption> options = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS);
        try (SeekableByteChannel ch = Files.newByteChannel(tmp, options, PosixFilePermissions.asFileAttribute(perms))) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
        try {
            beforeRename.accept(tmp);
            Files.move(tmp, file.toAbsolutePath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
