package zgres.plugin.pghba;

import java.nio.file.Path;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupName;
import zgres.api.sync.SyncPlugin;

/** The pg_hba sync plugin: one instance per local cluster ({@code zgres.plugin.pghba~name}). */
@Component(configurationPid = PgHbaComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        property = SyncPlugin.NAME + "=pghba")
@Designate(ocd = PgHbaComponent.Config.class, factory = true)
public class PgHbaComponent implements SyncPlugin {
    public static final String PID = "zgres.plugin.pghba";

    @ObjectClassDefinition(name = "zgres pg_hba", description = "Replication entries of pg_hba.conf for the group's "
            + "members")
    public @interface Config {
        @AttributeDefinition(description = "Group whose members may replicate")
        String group();

        @AttributeDefinition(description = "Data directory of the local cluster (its pg_hba.conf and postmaster.pid)")
        String data__dir();

        @AttributeDefinition(description = "pg_hba.conf (default: <data_dir>/pg_hba.conf)")
        String hba__file() default "";

        @AttributeDefinition(description = "Replication user")
        String user() default "replicator";

        @AttributeDefinition(description = "Authentication method")
        String method() default "scram-sha-256";
    }

    private final PgHbaSync sync;

    @Activate
    public PgHbaComponent(Config c, Map<String, Object> props) {
        Path data = Path.of(c.data__dir());
        sync = new PgHbaSync(new PgHbaSync.Settings(String.valueOf(props.getOrDefault("service.pid", PID)),
                GroupName.require(c.group()), c.hba__file().isBlank() ? data.resolve("pg_hba.conf")
                        : Path.of(c.hba__file()), data, c.user(), c.method()));
    }

    @Override
    public void apply(ClusterSnapshot snapshot) throws Exception {
        sync.apply(snapshot);
    }
}
