package zgres.deadman.archive;

import java.io.IOException;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.clone.WalArchive;
import zgres.deadman.pg.AutoConf;
import zgres.deadman.pg.PgNode;

/**
 * PostgreSQL's WAL archiving, from the {@link WalArchive} plugin a deadman's local {@code wal_archive} names:
 * {@code archive_mode = on}, the plugin's {@code archive_command} (the master archives every segment and, after a
 * promotion, its new timeline's history file) and {@code restore_command} (a standby whose upstream no longer has
 * the WAL it needs reads it from the archive). Written into {@code postgresql.auto.conf} before every start, and
 * applied live ({@code ALTER SYSTEM}, reload) when the plugin's commands change while PostgreSQL runs. Without
 * {@code wal_archive} nothing is touched. The commands are checked again here before they reach PostgreSQL.
 */
public final class WalArchiving {
    private static final Logger LOG = LoggerFactory.getLogger(WalArchiving.class);

    private final String name;
    private final PgNode pg;
    private final Supplier<List<WalArchive>> installed;
    private final Supplier<String> configured;
    private Map<String, String> applied = Map.of();
    private long appliedToPid = -1;
    private String lastProblem = "";

    public WalArchiving(String name, PgNode pg, Supplier<List<WalArchive>> installed, Supplier<String> configured) {
        this.name = name;
        this.pg = pg;
        this.installed = installed;
        this.configured = configured;
    }

    /**
     * @return the settings the archive wants, or empty when none is configured or its plugin cannot say (logged once:
     *         PostgreSQL keeps what it has)
     */
    public synchronized Optional<Map<String, String>> desired() {
        String wanted = configured.get();
        if (wanted.isEmpty()) {
            lastProblem = "";
            return Optional.empty();
        }
        Optional<WalArchive> a = installed.get().stream().filter(x -> wanted.equals(nameOf(x))).findFirst();
        if (a.isEmpty()) {
            problem("wal_archive = " + wanted + ": no such archive plugin is installed; PostgreSQL keeps the "
                    + "archive settings it has");
            return Optional.empty();
        }
        try {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("archive_mode", "on");
            m.put("archive_command", check("archive_command", a.get().archiveCommand(pg.local())));
            m.put("restore_command", check("restore_command", a.get().restoreCommand(pg.local())));
            if (!lastProblem.isEmpty()) {
                LOG.info("[{}] WAL archive {} available again", name, wanted);
            }
            lastProblem = "";
            return Optional.of(m);
        } catch (Exception e) {
            problem("wal_archive = " + wanted + ": " + e.getMessage() + "; PostgreSQL keeps the archive settings it "
                    + "has");
            return Optional.empty();
        }
    }

    private void problem(String p) {
        if (!p.equals(lastProblem)) {
            LOG.warn("[{}] {}", name, p);
            lastProblem = p;
        }
    }

    private static String nameOf(WalArchive a) {
        try {
            return a.name();
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** A command is one line of printable text that PostgreSQL hands to the shell: nothing else gets through. */
    static String check(String key, String command) {
        if (command == null || command.isBlank()) {
            throw new IllegalArgumentException(key + " is empty");
        }
        if (command.length() > 4096 || !command.chars().allMatch(c -> c >= 0x20 && c != 0x7f)) {
            throw new IllegalArgumentException(key + " holds control characters or is longer than 4096 characters");
        }
        return command;
    }

    /** Before PostgreSQL starts: the archive settings into postgresql.auto.conf. */
    public synchronized void beforeStart() throws IOException {
        Optional<Map<String, String>> d = desired();
        if (d.isPresent()) {
            AutoConf.update(pg.tools(), pg.dataDir(), d.get());
            applied = d.get();
            appliedToPid = -2; // the next running postmaster has them
        }
    }

    /** While PostgreSQL runs: applies changed commands live; archive_mode needs a restart (logged). */
    public synchronized void whileRunning(long postmasterPid) throws SQLException {
        Optional<Map<String, String>> d = desired();
        if (d.isEmpty()) {
            return;
        }
        if (appliedToPid == -2) {
            appliedToPid = postmasterPid;
        }
        if (d.get().equals(applied) && appliedToPid == postmasterPid) {
            return;
        }
        for (String k : List.of("archive_mode", "archive_command", "restore_command")) {
            pg.jdbc().execute("ALTER SYSTEM SET " + k + " = " + AutoConf.quote(d.get().get(k)), 10);
        }
        pg.jdbc().execute("SELECT pg_reload_conf()", 10);
        String mode = pg.jdbc().queryOne("SHOW archive_mode", 5);
        LOG.warn("[{}] WAL archive {}: archive_command and restore_command set{}", name, configured.get(),
                "on".equals(mode) || "always".equals(mode) ? "" : "; archive_mode = on takes effect when PostgreSQL "
                        + "next restarts (until then nothing is archived)");
        applied = d.get();
        appliedToPid = postmasterPid;
    }
}
