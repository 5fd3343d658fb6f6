package zgres.plugin.haproxy;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupName;
import zgres.api.sync.SyncPlugin;

/** The HAProxy sync plugin: one instance per HAProxy ({@code zgres.plugin.haproxy~name}). */
@Component(configurationPid = HaproxyComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
        property = SyncPlugin.NAME + "=haproxy")
@Designate(ocd = HaproxyComponent.Config.class, factory = true)
public class HaproxyComponent implements SyncPlugin {
    public static final String PID = "zgres.plugin.haproxy";

    @ObjectClassDefinition(name = "zgres HAProxy", description = "An HAProxy routing each group to its master and "
            + "replicas")
    public @interface Config {
        @AttributeDefinition(description = "Directory of haproxy.cfg, the stats socket and the log")
        String work__dir();

        @AttributeDefinition(description = "Routed groups and their ports: group=rw_port,ro_port")
        String[] ports();

        @AttributeDefinition(description = "Address the frontends bind")
        String bind__address() default "127.0.0.1";

        @AttributeDefinition(description = "Server slots per read-only backend (more are made when needed)",
                min = "1")
        int slots() default 3;

        @AttributeDefinition(description = "This machine's zone")
        String zone() default "";

        @AttributeDefinition(description = "Read-only weights by zone or by lag", options = {
                @org.osgi.service.metatype.annotations.Option(label = "zone", value = "zone"),
                @org.osgi.service.metatype.annotations.Option(label = "lag", value = "lag")})
        String weight__by() default "zone";

        @AttributeDefinition(description = "Weight of a replica in this machine's zone", min = "1", max = "256")
        int same__zone__weight() default 100;

        @AttributeDefinition(description = "Weight of a replica in another zone", min = "1", max = "256")
        int other__zone__weight() default 10;

        @AttributeDefinition(description = "Run HAProxy from work_dir (else only write haproxy.cfg)")
        boolean manage() default true;

        @AttributeDefinition(description = "HAProxy binary")
        String haproxy__bin() default "/usr/sbin/haproxy";
    }

    private final HaproxySync sync;

    @Activate
    public HaproxyComponent(Config c, Map<String, Object> props) {
        String name = String.valueOf(props.getOrDefault("service.pid", PID));
        sync = new HaproxySync(new HaproxySync.Settings(name, Path.of(c.work__dir()), c.bind__address(),
                parsePorts(name, c.ports()), c.slots(), c.zone(), c.weight__by(), c.same__zone__weight(),
                c.other__zone__weight(), c.haproxy__bin(), c.manage()));
    }

    /** Parses {@code group=rw,ro} entries, naming the bad one. */
    public static Map<String, HaproxySync.Ports> parsePorts(String name, String[] entries) {
        Map<String, HaproxySync.Ports> m = new LinkedHashMap<>();
        for (String e : entries) {
            String[] kv = e.split("=", 2);
            String[] p = kv.length == 2 ? kv[1].split(",") : new String[0];
            try {
                if (p.length != 2) {
                    throw new IllegalArgumentException("expected group=rw_port,ro_port");
                }
                m.put(GroupName.require(kv[0].trim()), new HaproxySync.Ports(port(p[0]), port(p[1])));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(name + ": ports entry '" + e + "': " + ex.getMessage());
            }
        }
        return m;
    }

    private static int port(String s) {
        int p = Integer.parseInt(s.trim());
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("port " + p + " out of range");
        }
        return p;
    }

    @Override
    public void apply(ClusterSnapshot snapshot) throws Exception {
        sync.apply(snapshot);
    }

    @Deactivate
    void deactivate() {
        sync.close();
    }
}
