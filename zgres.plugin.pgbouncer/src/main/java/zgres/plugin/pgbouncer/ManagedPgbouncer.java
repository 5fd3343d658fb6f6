package zgres.plugin.pgbouncer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import zgres.process.Daemon;
import zgres.process.Exec;
import zgres.process.Signals;

/**
 * A pgbouncer run by zgres: writes its pgbouncer.ini (which includes the databases file zgres owns) and its
 * auth_file into a work directory, runs it in the foreground as an OS user, restarts it when it exits.
 */
public final class ManagedPgbouncer implements AutoCloseable {
    private final Daemon process;
    private final Path workDir;

    /**
     * @param authUsers {@code user:password} entries of the auth_file
     */
    public ManagedPgbouncer(String name, Path workDir, Path databasesFile, String listenAddr, int port,
            String adminUser, List<String> authUsers, String poolMode, String runAs, String binary)
            throws IOException {
        this.workDir = workDir;
        Files.createDirectories(workDir);
        Files.setPosixFilePermissions(workDir, PosixFilePermissions.fromString("rwxr-x---"));
        own(workDir, runAs);
        if (!Files.exists(databasesFile)) {
            PgbouncerSync.writeAtomically(databasesFile, "[databases]\n");
        }
        StringBuilder users = new StringBuilder();
        for (String u : authUsers) {
            int i = u.indexOf(':');
            if (i <= 0) {
                throw new IllegalArgumentException(name + ": auth_users entry '" + u + "' must be user:password");
            }
            users.append('"').append(u, 0, i).append("\" \"").append(u.substring(i + 1).replace("\"", "\"\""))
                    .append("\"\n");
        }
        Path userlist = workDir.resolve("userlist.txt");
        PgbouncerSync.writeAtomically(userlist, users.toString(), "rw-------");
        own(userlist, runAs);
        Path ini = workDir.resolve("pgbouncer.ini");
        PgbouncerSync.writeAtomically(ini, String.join("\n", List.of(
                "; written by zgres (" + name + ")",
                "[pgbouncer]",
                "listen_addr = " + listenAddr,
                "listen_port = " + port,
                "unix_socket_dir =",
                "auth_type = scram-sha-256",
                "auth_file = " + userlist,
                "admin_users = " + adminUser,
                "pool_mode = " + poolMode,
                "max_client_conn = 500",
                "default_pool_size = 20",
                "ignore_startup_parameters = extra_float_digits,options",
                "server_connect_timeout = 3",
                "server_login_retry = 1",
                "server_fast_close = 1",
                "logfile = " + workDir.resolve("pgbouncer.log"),
                "pidfile = " + workDir.resolve("pgbouncer.pid"),
                "%include " + databasesFile.toAbsolutePath(),
                "")));
        process = new Daemon("pgbouncer " + name, Exec.asUser(runAs, List.of(binary, ini.toString())),
                workDir.resolve("pgbouncer.out"), true);
    }

    /** Hands a file to the OS user pgbouncer runs as (when this JVM is root). */
    static void own(Path p, String user) throws IOException {
        if (!"root".equals(System.getProperty("user.name")) || user.isEmpty() || "root".equals(user)) {
            return;
        }
        var lookup = p.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(p, lookup.lookupPrincipalByName(user));
    }

    public Path workDir() {
        return workDir;
    }

    public boolean started() {
        return process.started();
    }

    /** Starts pgbouncer on the first call, reloads it (SIGHUP) on the next ones. */
    public void reload() throws IOException {
        if (!process.started()) {
            start();
            return;
        }
        Signals.reload(workDir.resolve("pgbouncer.pid"));
    }

    /** Starts pgbouncer (once) and waits briefly for it to listen. */
    public void start() throws IOException {
        if (!process.started()) {
            process.start();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        process.close();
    }
}
