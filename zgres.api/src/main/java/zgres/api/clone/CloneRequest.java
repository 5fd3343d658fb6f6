package zgres.api.clone;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import zgres.api.ConnInfo;

/**
 * A replica to build.
 *
 * @param node the local PostgreSQL the replica is for
 * @param target an empty directory (mode 700, owned by PostgreSQL's user) to fill; the deadman moves it into place
 *        once the method succeeded, so that a failed or interrupted build never leaves a data directory anyone starts
 * @param master the group's master, when there is one (a method that restores from a backup may not need it)
 * @param masterConninfo a libpq connection string to the master as the replication user (no password: {@code env}
 *        names the passfile), or "" without a master
 * @param env environment for libpq programs ({@code PGPASSFILE}, ...)
 * @param systemIdentifier the group's db-id: what the built data directory must belong to
 */
public record CloneRequest(LocalCluster node, Path target, Optional<ConnInfo> master, String masterConninfo,
        Map<String, String> env, String systemIdentifier) {
    public CloneRequest {
        env = Map.copyOf(env);
    }
}
