package zgres.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The OS users test processes run as. Nothing runs as root that need not: when the tests run as root (CI), node and
 * sync-daemon runtimes run as {@code postgres}, started through {@code setpriv} (which replaces itself with the
 * JVM: its pid is the JVM's, so signals reach it), and the files they use are given to that user.
 */
public final class OsUser {
    private OsUser() {
    }

    public static String current() {
        return System.getProperty("user.name");
    }

    public static boolean root() {
        return "root".equals(current());
    }

    /** @return the user runtimes run as: {@code postgres} when this JVM is root, else this JVM's user */
    public static String runtimeUser() {
        return root() ? "postgres" : current();
    }

    /** @return the command prefix that runs a program as {@code user} (none when that is this JVM's user) */
    public static List<String> as(String user) {
        if (user.equals(current())) {
            return List.of();
        }
        if (!root()) {
            throw new IllegalStateException("only root can start a process as " + user);
        }
        return List.of("setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--");
    }

    /** Gives {@code p} (not following links) to {@code user} and its group, when this JVM is root. */
    public static void own(Path p, String user) throws IOException {
        if (!root() || user.equals(current())) {
            return;
        }
        UserPrincipalLookupService lookup = p.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView v = Files.getFileAttributeView(p, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        v.setOwner(lookup.lookupPrincipalByName(user));
        v.setGroup(lookup.lookupPrincipalByGroupName(user));
    }

    /** Gives {@code dir} and everything below it to {@code user}. */
    public static void ownTree(Path dir, String user) throws IOException {
        if (!root() || user.equals(current())) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                own(p, user);
            }
        }
    }
}
