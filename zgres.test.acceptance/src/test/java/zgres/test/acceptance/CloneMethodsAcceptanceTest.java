package zgres.test.acceptance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import zgres.testkit.Group;
import zgres.testkit.NodeProcess;
import zgres.testkit.Pg;
import zgres.testkit.Profile;

/**
 * The {@code command} clone method on real processes: a program named in the local file builds the replica from what
 * the deadman puts in its environment; a program that builds a cluster of another system is refused (the build is
 * removed, the next method builds the replica); a program others may change is refused before it runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CloneMethodsAcceptanceTest {
    static final String GROUP = "clonecmd";
    Group g;
    Path scripts;
    NodeProcess n1;
    NodeProcess n2;

    @BeforeAll
    void start() throws Exception {
        g = new Group(GROUP, 2, Profile.ACCEPTANCE, 1, Map.of());
        scripts = Files.createDirectories(g.credentialsDir().getParent().resolve("scripts"));
        Files.setPosixFilePermissions(scripts, PosixFilePermissions.fromString("rwxr-xr-x"));
        n1 = g.nodes().get(0);
        n2 = g.nodes().get(1);
        n1.start();
        g.await("the first node to bootstrap", 120_000, s -> s.masterConn().isPresent());
    }

    @AfterAll
    void stop() throws Exception {
        if (g != null) {
            g.close();
        }
    }

    Path script(String name, String body, String mode) throws Exception {
        Path p = scripts.resolve(name);
        Files.writeString(p, "#!/bin/sh\nset -e\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        return p;
    }

    void rebuild(NodeProcess n, Path command, String... methods) throws Exception {
        if (n.alive()) {
            n.close();
        }
        if (Files.exists(n.dataDir())) {
            Files.move(n.dataDir(), n.dataDir().resolveSibling(n.name() + "-" + System.nanoTime()));
        }
        n.config("zgres.clone.command").put("command", command.toString());
        n.set("clone_methods", methods);
        n.start();
    }

    @Test
    @Order(1)
    void aProgramNamedInTheLocalFileBuildsTheReplicaFromItsEnvironment() throws Exception {
        Path ok = script("clone-ok.sh", "test -n \"$ZGRES_MASTER_HOST\" && test \"$ZGRES_GROUP\" = " + GROUP + "\n"
                + "exec /usr/lib/postgresql/15/bin/pg_basebackup -D \"$ZGRES_TARGET\" -d \"$ZGRES_MASTER_CONNINFO\" "
                + "-X stream -c fast --no-password", "rwxr-xr-x");
        rebuild(n2, ok, "command");
        g.awaitHealthy(2, 120_000);
        g.await(n2 + " built by the command", 30_000, s -> g.metadata(n2, "built_by").startsWith("command in "));
        Pg.exec(n1.host(), n1.port(), "CREATE TABLE t AS SELECT 1 AS x");
        g.await(n2 + " has the new table", 30_000, s -> {
            try {
                return "1".equals(Pg.one(n2.host(), n2.port(), "SELECT count(*) FROM t"));
            } catch (java.sql.SQLException e) {
                return false;
            }
        });
    }

    @Test
    @Order(2)
    void aBuildOfAnotherSystemIsRefusedRemovedAndTheNextMethodBuildsTheReplica() throws Exception {
        Path foreign = script("clone-foreign.sh", "exec /usr/lib/postgresql/15/bin/initdb -D \"$ZGRES_TARGET\" "
                + "--auth=peer > /dev/null", "rwxr-xr-x");
        long from = Files.size(n2.log());
        rebuild(n2, foreign, "command", "basebackup");
        g.awaitHealthy(2, 120_000);
        g.await(n2 + " built by basebackup after the command", 30_000, s -> g.metadata(n2, "built_by").startsWith("basebackup in ")
                && g.metadata(n2, "built_by").endsWith("(after command failed)"));
        String log = n2.tail(from);
        assertThat(log).contains("clone method command failed").contains("the data directory it built belongs to "
                + "system").contains("not to the group's");
        assertThat(Files.exists(n2.dataDir().resolveSibling(n2.dataDir().getFileName() + ".clone"))).as(
                "no build left behind").isFalse();
    }

    @Test
    @Order(3)
    void aProgramOthersMayChangeIsRefusedBeforeItRuns() throws Exception {
        Path writable = script("clone-writable.sh", "touch " + scripts.resolve("ran"), "rwxrwxrwx");
        long from = Files.size(n2.log());
        rebuild(n2, writable, "command", "basebackup");
        g.awaitHealthy(2, 120_000);
        g.await(n2 + " built by basebackup", 30_000, s -> g.metadata(n2, "built_by").startsWith("basebackup in "));
        assertThat(n2.tail(from)).contains("is writable by others than its owner");
        assertThat(Files.exists(scripts.resolve("ran"))).as("the program never ran").isFalse();
    }
}
