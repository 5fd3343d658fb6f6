package zgres.clone.pgbackrest;

import java.nio.file.Path;
import java.util.List;

/**
 * The validated configuration of the pgBackRest plugin (every path and program from the local file).
 *
 * @param bin the pgbackrest program
 * @param repo the repository directory (a posix repository: local, or a mount every node of the group shares)
 * @param stanza the stanza, or "" for the node's group name
 * @param backupIntervalS a backup when the last one is older than this (0: only on demand)
 * @param backupType full, diff or incr
 * @param retentionFull full backups kept
 * @param processMax parallel processes for backup and restore
 * @param compressType lz4, zst, gz or none
 * @param archiveTimeoutS how long a backup waits for its WAL to reach the archive
 */
record Settings(Path bin, Path repo, String stanza, long backupIntervalS, String backupType, int retentionFull,
        int processMax, String compressType, int archiveTimeoutS) {

    static Settings from(PgBackRest.Config c) {
        Path bin = Path.of(c.pgbackrest__bin());
        Path repo = Path.of(c.repo__path());
        safePath("pgbackrest_bin", bin);
        safePath("repo_path", repo);
        if (!c.stanza().isEmpty() && !c.stanza().matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException(PgBackRest.PID + ": stanza '" + c.stanza() + "' must match "
                    + "[A-Za-z0-9][A-Za-z0-9._-]*");
        }
        if (!List.of("full", "diff", "incr").contains(c.backup__type())) {
            throw new IllegalArgumentException(PgBackRest.PID + ": backup_type '" + c.backup__type() + "' must be "
                    + "full, diff or incr");
        }
        if (!List.of("lz4", "zst", "gz", "none").contains(c.compress__type())) {
            throw new IllegalArgumentException(PgBackRest.PID + ": compress_type '" + c.compress__type() + "' must "
                    + "be lz4, zst, gz or none");
        }
        return new Settings(bin, repo, c.stanza(), c.backup__interval__s(), c.backup__type(), c.retention__full(),
                c.process__max(), c.compress__type(), c.archive__timeout__s());
    }

    /**
     * A path that reaches a configuration file and a shell command line (PostgreSQL runs archive_command through
     * {@code sh -c}): absolute, and only characters that need no quoting.
     */
    static void safePath(String key, Path p) {
        String s = p.toString();
        if (!p.isAbsolute() || !s.matches("[A-Za-z0-9/._+-]+")) {
            throw new IllegalArgumentException(PgBackRest.PID + ": " + key + " '" + s + "' must be an absolute path "
                    + "of letters, digits and / . _ + -");
        }
    }
}
