package zgres.deadman;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import zgres.api.GroupName;
import zgres.api.NodeId;
import zgres.api.Tags;
import zgres.deadman.ha.Policy;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgTools;

/**
 * The validated configuration of one deadman.
 */
public record DeadmanSettings(NodeId id, Path dataDir, Path pgBin, String pgUser, String dbname, String superuser,
        String superuserPassword, String replicationUser, String replicationPassword, Path logFile, Tags tags,
        int sessionTimeoutMs, int loopWaitMs, int stateIntervalMs, int leaseMarginMs, Policy policy,
        List<String> pgParameters, List<String> pgHba, int historyLimit, zgres.deadman.slots.SlotPolicy slots,
        List<String> cloneMethods, String walArchive) {

    /**
     * The settings of a configuration whose values passed the metatype's rules (types, ranges, options): what remains
     * are the rules between values and of names, each rejected with the key, the value and the rule.
     */
    public static DeadmanSettings from(DeadmanComponent.Config c) {
        List<String> errors = new ArrayList<>();
        String group = c.group();
        if (!GroupName.isValid(group)) {
            errors.add("group: '" + group + "' is not a valid group name ([A-Za-z0-9][A-Za-z0-9.-]*)");
        }
        if (c.host().isBlank() || c.host().contains("_") || c.host().contains("/")) {
            errors.add("host: '" + c.host() + "' must be an address other nodes reach this PostgreSQL at");
        }
        if (c.port() < 1 || c.port() > 65535) {
            errors.add("port: " + c.port() + " must be 1..65535");
        }
        if (c.data__dir().isBlank() || !Path.of(c.data__dir()).isAbsolute()) {
            errors.add("data_dir: '" + c.data__dir() + "' must be an absolute path");
        }
        // no password would mean trust authentication: anyone who reaches the port is the superuser
        if (c.superuser__password().isEmpty()) {
            errors.add("superuser_password is empty: zgres never runs PostgreSQL with trust authentication; set it "
                    + "(and replication_password) in the local configuration file");
        }
        if (c.replication__password().isEmpty()) {
            errors.add("replication_password is empty: zgres never runs PostgreSQL with trust authentication; set "
                    + "it in the local configuration file");
        }
        if (c.lease__margin__ms() > 0 && c.lease__margin__ms() >= c.session__timeout__ms() * 2 / 3) {
            errors.add("lease_margin_ms: " + c.lease__margin__ms() + " must be 0 (automatic) or less than two "
                    + "thirds of session_timeout_ms");
        }
        ConfigOptions.SynchronousMode syncMode = ConfigOptions.parse(errors, "synchronous_mode", c.synchronous__mode(),
                ConfigOptions.SynchronousMode.values(), ConfigOptions.SynchronousMode.off);
        ConfigOptions.RewindFailure rewind = ConfigOptions.parse(errors, "rewind_failure", c.rewind__failure(),
                ConfigOptions.RewindFailure.values(), ConfigOptions.RewindFailure.reclone);
        for (String p : c.pg__parameters()) {
            if (!p.matches("\\s*[A-Za-z_][A-Za-z0-9_.]*\\s*=.*")) {
                errors.add("pg_parameters: '" + p + "' must look like name = value");
            }
        }
        for (String m : c.clone__methods()) {
            if (!m.matches("[a-z][a-z0-9_-]{0,39}")) {
                errors.add("clone_methods: '" + m + "' is not a clone method name ([a-z][a-z0-9_-]*)");
            }
        }
        if (!c.wal__archive().isEmpty() && !c.wal__archive().matches("[a-z][a-z0-9_-]{0,39}")) {
            errors.add("wal_archive: '" + c.wal__archive() + "' is not an archive plugin name ([a-z][a-z0-9_-]*)");
        }
        if (c.clone__methods().length == 0) {
            errors.add("clone_methods: empty: name at least one (basebackup is today's pg_basebackup from the master)");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid zgres.deadman configuration: " + String.join("; ", errors));
        }
        Path data = Path.of(c.data__dir());
        String user = c.pg__user().isBlank() ? PgTools.defaultUser() : c.pg__user();
        Path log = c.log__file().isBlank() ? data.resolveSibling(data.getFileName() + ".log") : Path.of(c.log__file());
        return new DeadmanSettings(new NodeId(group, c.host(), c.port()), data, Path.of(c.pg__bin()), user,
                c.dbname(), c.superuser(), c.superuser__password(), c.replication__user(), c.replication__password(),
                log, new Tags(c.nofailover(), c.priority(), ""), c.session__timeout__ms(), c.loop__wait__ms(),
                c.state__interval__ms(), c.lease__margin__ms(),
                new Policy(c.maximum__lag__on__failover(), c.election__delay__ms(), c.election__timeout__ms(),
                        c.crash__restart__timeout__ms(), c.follow__timeout__ms(), syncMode.mode(),
                        c.synchronous__node__count(), rewind.value(), c.failsafe()),
                List.of(c.pg__parameters()), List.of(c.pg__hba()), c.history__limit(),
                new zgres.deadman.slots.SlotPolicy(c.replication__slots(), c.slot__drop__after__s() * 1000L,
                        c.max__slot__wal__keep__size__mb()), List.of(c.clone__methods()), c.wal__archive());
    }

    public PgNode.Spec pgSpec() {
        return new PgNode.Spec(id.toString(), id.host(), id.port(), dataDir, dbname, superuser, superuserPassword,
                replicationUser, replicationPassword, logFile, pgParameters, pgHba);
    }
}
