package zgres.deadman.pg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real supervisor.pl and the deadline the deadman gives it, with {@code sleep} standing in for the postmaster: a
 * renewal confirmed late (sent before a ZooKeeper outage, confirmed after it) carries a deadline already past.
 */
class SupervisorTest {
    @TempDir
    Path dir;
    Path script;
    Path log;

    @BeforeEach
    void script() throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        script = dir.resolve("supervisor.pl");
        try (InputStream in = PgNode.class.getResourceAsStream("/zgres/deadman/supervisor.pl")) {
            Files.write(script, in.readAllBytes());
        }
        log = dir.resolve("child.log");
        Files.createFile(log);
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-rw-rw-"));
    }

    Supervisor start(long deadlineNanos) throws Exception {
        return Supervisor.start("test", script, PgTools.isRoot() ? "postgres" : System.getProperty("user.name"), log,
                OptionalLong.of(deadlineNanos), List.of("sleep", "60"), line -> { });
    }

    static long in(long ms) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    @Test
    void aLateRenewalNeverShortensTheFailsafesRunningExtension() throws Exception {
        try (Supervisor s = start(in(2000))) {
            assertThat(s.extendTo(in(3000))).as("the failsafe extends").isTrue();
            s.keepalive(in(-1000)); // a renewal sent long ago, confirmed now
            Thread.sleep(700);
            assertThat(s.running()).as("the stale renewal did not fence").isTrue();
            assertThat(s.isFenced()).isFalse();
            assertThat(s.exited().get(10, TimeUnit.SECONDS)).as("fenced when the extension ends").isNotNull();
            assertThat(s.isFenced()).isTrue();
        }
    }

    @Test
    void withoutAnExtensionADeadlineAlreadyPastFencesAtOnce() throws Exception {
        try (Supervisor s = start(in(5000))) {
            s.keepalive(in(-1000));
            s.exited().get(3, TimeUnit.SECONDS);
            assertThat(s.isFenced()).as("a lease that ended before it arrived").isTrue();
        }
    }

    @Test
    void aRenewalLaterThanTheExtensionMovesTheDeadlineAsUsual() throws Exception {
        try (Supervisor s = start(in(1000))) {
            assertThat(s.extendTo(in(1500))).isTrue();
            s.keepalive(in(4000));
            Thread.sleep(2500);
            assertThat(s.running()).as("the renewal's later deadline holds").isTrue();
            assertThat(s.extendTo(in(1000))).as("never earlier").isFalse();
        }
    }
}
