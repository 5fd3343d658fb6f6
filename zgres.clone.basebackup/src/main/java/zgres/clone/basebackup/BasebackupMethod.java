package zgres.clone.basebackup;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.clone.CloneMethod;
import zgres.api.clone.CloneRequest;
import zgres.api.clone.CommandResult;

/**
 * {@code basebackup}: {@code pg_basebackup} from the master, streaming the WAL the copy needs ({@code -X stream}),
 * with a fast checkpoint. The master reads every data file once; {@code max_rate} bounds how fast.
 */
@Component(service = CloneMethod.class, configurationPid = BasebackupMethod.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = BasebackupMethod.Config.class)
public class BasebackupMethod implements CloneMethod {
    public static final String PID = "zgres.clone.basebackup";
    private static final Logger LOG = LoggerFactory.getLogger(BasebackupMethod.class);

    @ObjectClassDefinition(name = "zgres clone method: pg_basebackup")
    public @interface Config {
        @AttributeDefinition(description = "Most the master sends per second, kB/s (0: no limit)", min = "0")
        int max__rate__kbps() default 0;

        @AttributeDefinition(description = "Longest a clone may take, minutes", min = "1")
        int timeout__minutes() default 360;
    }

    private volatile int maxRateKbps;
    private volatile int timeoutMinutes = 360;

    @Activate
    @Modified
    void configure(Config c) {
        maxRateKbps = c.max__rate__kbps();
        timeoutMinutes = c.timeout__minutes();
    }

    @Override
    public String name() {
        return "basebackup";
    }

    @Override
    public void build(CloneRequest r) throws Exception {
        if (r.master().isEmpty() || r.masterConninfo().isEmpty()) {
            throw new IllegalStateException("pg_basebackup needs a master to copy, and the group has none");
        }
        List<String> cmd = new ArrayList<>(List.of(r.node().binDirectory().resolve("pg_basebackup").toString(), "-D",
                r.target().toString(), "-d", r.masterConninfo(), "-X", "stream", "-c", "fast", "--no-password"));
        if (maxRateKbps > 0) {
            cmd.add("--max-rate=" + maxRateKbps + "k");
        }
        CommandResult res = r.node().run(cmd, r.env(), Duration.ofMinutes(timeoutMinutes));
        if (!res.ok()) {
            throw new java.io.IOException(res.describe());
        }
        LOG.info("[{}] pg_basebackup from {} done", r.node().id(), r.master().get().address());
    }
}
