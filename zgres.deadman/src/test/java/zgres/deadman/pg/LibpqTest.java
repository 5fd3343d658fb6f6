package zgres.deadman.pg;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import zgres.api.ConnInfo;

class LibpqTest {
    @TempDir
    Path base;

    @Test
    void thePassfileOffersThePasswordsOnlyToTheServersThisNodeWasToldToReach() throws Exception {
        PgNode.Spec spec = new PgNode.Spec("t", "127.0.0.1", 5432, base.resolve("data"), "postgres", "postgres",
                "su:pw", "replicator", "rep\\pw", base.resolve("log"), List.of(), List.of());
        Path passfile = base.resolve("pgpass");
        Libpq libpq = new Libpq(spec, new PgTools(Path.of("/usr/lib/postgresql/15/bin"),
                System.getProperty("user.name")), passfile);
        assertThat(Files.readString(passfile)).as("nobody named yet").isEmpty();

        String ci = libpq.conninfo(new ConnInfo("10.0.0.2", 5433, "postgres", ""), "replicator", true);
        libpq.conninfo(new ConnInfo("::1", 5434, "postgres", ""), "postgres", false);
        libpq.conninfo(new ConnInfo("10.0.0.2", 5433, "postgres", ""), "postgres", false);

        assertThat(ci).contains("host='10.0.0.2'", "port=5433", "passfile='" + passfile + "'").doesNotContain("rep\\\\pw", "su:pw");
        assertThat(Files.readString(passfile).lines()).containsExactly(
                "10.0.0.2:5433:*:replicator:rep\\\\pw",
                "10.0.0.2:5433:*:postgres:su\\:pw",
                "\\:\\:1:5434:*:replicator:rep\\\\pw",
                "\\:\\:1:5434:*:postgres:su\\:pw");
        assertThat(Files.readString(passfile)).doesNotContain("*:*:*");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passfile))).isEqualTo("rw-------");
    }
}
