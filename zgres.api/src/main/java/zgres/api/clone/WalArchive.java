package zgres.api.clone;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A WAL archive (a whiteboard service, chosen by a deadman's local {@code wal_archive}): the commands PostgreSQL
 * archives WAL and reads it back with. The master archives every segment and, after a promotion, its timeline's
 * history file; a standby whose upstream no longer has the WAL it needs reads it from here. Commands are made from
 * the plugin's local configuration only (they run as PostgreSQL's user).
 */
@ConsumerType
public interface WalArchive {
    /** @return the name {@code wal_archive} selects */
    String name();

    /** @return PostgreSQL's {@code archive_command} for {@code node} ({@code %p}, {@code %f} as PostgreSQL has them) */
    String archiveCommand(LocalCluster node) throws Exception;

    /** @return PostgreSQL's {@code restore_command} for {@code node} */
    String restoreCommand(LocalCluster node) throws Exception;
}
