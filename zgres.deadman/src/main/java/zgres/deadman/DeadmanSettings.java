package zgres.deadman;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import zgres.api.GroupName;
import zgres.api.NodeId;
import zgres.api.Tags;
import zgres.deadman.ha.Policy;
import zgres.deadman.ha.SyncPlanner;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.PgTools;

/**
 * The validated configuration of one deadman. {@link #from(DeadmanComponent.Config)} rejects bad values with a
 * message naming the key, the value and the rule.
 */
public record DeadmanSettings(NodeId id, Path dataDir, Path pgBin, String pgUser, String dbname, String superuser,
        String superuserPassword, String replicationUser, String replicationPassword, Path logFile, Tags tags,
        int sessionTimeoutMs, int loopWaitMs, int stateIntervalMs, int leaseMarginMs, Policy policy,
        String rewindFailure, List<String> pgParameters, List<String> pgHba) {

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
        if (c.session__timeout__ms() < 200 || c.session__timeout__ms() > 600_000) {
            errors.add("session_timeout_ms: " + c.session__timeout__ms() + " must be 200..600000");
        }
        if (c.loop__wait__ms() < 10 || c.loop__wait__ms() > 60_000) {
            errors.add("loop_wait_ms: " + c.loop__wait__ms() + " must be 10..60000");
        }
        if (c.state__interval__ms() < 10) {
            errors.add("state_interval_ms: " + c.state__interval__ms() + " must be at least 10");
        }
        if (c.maximum__lag__on__failover() < 0) {
            errors.add("maximum_lag_on_failover: " + c.maximum__lag__on__failover() + " must not be negative");
        }
        if (c.lease__margin__ms() < 0 || (c.lease__margin__ms() > 0
                && c.lease__margin__ms() >= c.session__timeout__ms() * 2 / 3)) {
            errors.add("lease_margin_ms: " + c.lease__margin__ms() + " must be 0 (automatic) or less than two "
                    + "thirds of session_timeout_ms");
        }
        for (String k : new String[] {"election_delay_ms", "election_timeout_ms", "crash_restart_timeout_ms",
                "follow_timeout_ms"}) {
            long v = switch (k) {
                case "election_delay_ms" -> c.election__delay__ms();
                case "election_timeout_ms" -> c.election__timeout__ms();
                case "crash_restart_timeout_ms" -> c.crash__restart__timeout__ms();
                default -> c.follow__timeout__ms();
            };
            if (v < 0) {
                errors.add(k + ": " + v + " must not be negative");
            }
        }
        if (c.election__timeout__ms() < 1) {
            errors.add("election_timeout_ms: " + c.election__timeout__ms() + " must be at least 1");
        }
        SyncPlanner.Mode syncMode = SyncPlanner.Mode.OFF;
        try {
            syncMode = SyncPlanner.Mode.parse(c.synchronous__mode());
        } catch (IllegalArgumentException e) {
            errors.add(e.getMessage());
        }
        if (c.synchronous__node__count() < 1) {
            errors.add("synchronous_node_count: " + c.synchronous__node__count() + " must be at least 1");
        }
        String rewind = c.rewind__failure().toLowerCase(Locale.ROOT);
        if (!rewind.equals("reclone") && !rewind.equals("stop")) {
            errors.add("rewind_failure: '" + c.rewind__failure() + "' must be reclone or stop");
        }
        for (String p : c.pg__parameters()) {
            if (!p.matches("\\s*[A-Za-z_][A-Za-z0-9_.]*\\s*=.*")) {
                errors.add("pg_parameters: '" + p + "' must look like name = value");
            }
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
                        c.crash__restart__timeout__ms(), c.follow__timeout__ms(), syncMode,
                        c.synchronous__node__count()),
                rewind, List.of(c.pg__parameters()), List.of(c.pg__hba()));
    }

    public PgNode.Spec pgSpec() {
        return new PgNode.Spec(id.toString(), id.host(), id.port(), dataDir, dbname, superuser, superuserPassword,
                replicationUser, replicationPassword, logFile, pgParameters, pgHba);
    }
}
