package zgres.plugin.pgbouncer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupName;
import zgres.api.sync.SyncPlugin;
import zgres.process.Signals;

/**
 * The pgbouncer sync plugin: one instance per pgbouncer ({@code zgres.plugin.pgbouncer~name}). With {@code manage}
 * it also writes pgbouncer.ini and runs pgbouncer itself (started when the first group appears, restarted when it
 * exits).
 */
@Component(configurationPid = PgbouncerComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        property = SyncPlugin.NAME + "=pgbouncer")
@Designate(ocd = PgbouncerComponent.Config.class, factory = true)
public class PgbouncerComponent implements SyncPlugin {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PgbouncerComponent.class);
    public static final String PID = "zgres.plugin.pgbouncer";

    @ObjectClassDefinition(name = "zgres pgbouncer", description = "A pgbouncer kept pointing at each group's master")
    public @interface Config {
        @AttributeDefinition(description = "The databases file zgres owns (pgbouncer.ini includes it with %include)")
        String databases__file();

        @AttributeDefinition(description = "Groups to route (empty: all)")
        String[] groups() default {};

        @AttributeDefinition(description = "Suffix of each group's read-only database")
        String readonly__suffix() default "-ro";

        @AttributeDefinition(description = "This machine's zone: replicas in it are preferred for read-only")
        String zone() default "";

        @AttributeDefinition(description = "Extra parameters of every database entry (e.g. pool_size=20)")
        String extra__parameters() default "";

        @AttributeDefinition(description = "pid file of a pgbouncer zgres does not manage (reloaded with SIGHUP; it "
                + "must set server_fast_close = 1)")
        String pid__file() default "";

        @AttributeDefinition(description = "Managed pgbouncer: port", min = "1", max = "65535")
        int port() default 6432;

        @AttributeDefinition(description = "Managed pgbouncer: admin_users")
        String admin__user() default "zgres";

        @AttributeDefinition(description = "Write pgbouncer.ini and run pgbouncer (as run_as) from work_dir")
        boolean manage() default false;

        @AttributeDefinition(description = "Directory of the managed pgbouncer's files")
        String work__dir() default "";

        @AttributeDefinition(description = "Managed pgbouncer: address to listen on")
        String listen__addr() default "127.0.0.1";

        @AttributeDefinition(description = "Managed pgbouncer: users and passwords (user:password) of its auth_file")
        String[] auth__users() default {};

        @AttributeDefinition(description = "Managed pgbouncer: pool_mode (session, transaction, statement)")
        String pool__mode() default "session";

        @AttributeDefinition(description = "Managed pgbouncer: OS user (default postgres when root)")
        String run__as() default "postgres";

        @AttributeDefinition(description = "Managed pgbouncer: binary")
        String pgbouncer__bin() default "/usr/sbin/pgbouncer";
    }

    private volatile PgbouncerSync sync;
    private volatile ManagedPgbouncer process;
    private volatile Config config;
    private volatile ClusterSnapshot last;

    @Activate
    public PgbouncerComponent(Config c, Map<String, Object> props) throws IOException {
        String name = name(props);
        ManagedPgbouncer p = c.manage() ? managed(name, c) : null;
        process = p;
        sync = create(name, c, p);
        config = c;
    }

    private static String name(Map<String, Object> props) {
        return String.valueOf(props.getOrDefault("service.pid", PID));
    }

    private static ManagedPgbouncer managed(String name, Config c) throws IOException {
        if (c.work__dir().isBlank()) {
            throw new IllegalArgumentException(name + ": work_dir is required when manage is true");
        }
        return new ManagedPgbouncer(name, Path.of(c.work__dir()), Path.of(c.databases__file()), c.listen__addr(),
                c.port(), c.admin__user(), List.of(c.auth__users()), c.pool__mode(), c.run__as(), c.pgbouncer__bin());
    }

    private static PgbouncerSync create(String name, Config c, ManagedPgbouncer process) {
        for (String g : c.groups()) {
            GroupName.require(g);
        }
        if (c.databases__file() == null || c.databases__file().isBlank()) {
            throw new IllegalArgumentException(name + ": databases_file is required");
        }
        PgbouncerSync.Settings settings = new PgbouncerSync.Settings(name, Path.of(c.databases__file()),
                Set.of(c.groups()), c.readonly__suffix(), c.zone(), c.extra__parameters());
        if (process != null) {
            return new PgbouncerSync(settings, process::reload);
        }
        if (c.pid__file().isBlank()) {
            throw new IllegalArgumentException(name + ": pid_file is required when manage is false (zgres reloads "
                    + "pgbouncer with SIGHUP)");
        }
        Path pid = Path.of(c.pid__file());
        return new PgbouncerSync(settings, () -> Signals.reload(pid));
    }

    /** @return true when the managed pgbouncer process must be restarted for {@code c} */
    private static boolean processChanged(Config a, Config b) {
        return a.manage() != b.manage() || !a.work__dir().equals(b.work__dir())
                || !a.databases__file().equals(b.databases__file()) || !a.listen__addr().equals(b.listen__addr())
                || a.port() != b.port() || !a.admin__user().equals(b.admin__user())
                || !List.of(a.auth__users()).equals(List.of(b.auth__users())) || !a.pool__mode().equals(b.pool__mode())
                || !a.run__as().equals(b.run__as()) || !a.pgbouncer__bin().equals(b.pgbouncer__bin());
    }

    /**
     * New settings apply live: routing settings (groups, read-only suffix, zone, extra parameters) rewrite the
     * databases file and reload pgbouncer, which keeps its clients; settings of the managed process restart it.
     */
    @Modified
    synchronized void modified(Config c, Map<String, Object> props) {
        String name = name(props);
        try {
            ManagedPgbouncer p = process;
            boolean restart = processChanged(config, c);
            ManagedPgbouncer next = restart ? (c.manage() ? managed(name, c) : null) : p;
            PgbouncerSync s = create(name, c, next);
            if (restart && p != null) {
                p.close();
            }
            process = next;
            sync = s;
            config = c;
            LOG.info("{}: configuration updated live{}", name, restart ? " (pgbouncer restarted)" : "");
        } catch (IOException | IllegalArgumentException e) {
            LOG.error("{}: rejected new configuration, keeping the last good one: {}", name, e.getMessage());
            return;
        }
        if (last != null) {
            try {
                sync.apply(last);
            } catch (Exception e) {
                LOG.error("{}: applying the current snapshot with the new settings failed: {}", name, e.toString());
            }
        }
    }

    @Override
    public synchronized void apply(ClusterSnapshot snapshot) throws Exception {
        last = snapshot;
        sync.apply(snapshot);
    }

    @Deactivate
    void deactivate() {
        ManagedPgbouncer p = process;
        if (p != null) {
            p.close();
        }
    }
}
