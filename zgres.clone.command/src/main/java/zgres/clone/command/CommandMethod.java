package zgres.clone.command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

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
 * {@code command}: a program the local configuration names builds the replica (a storage snapshot, a restore from
 * another backup tool). It runs as PostgreSQL's user, without a shell, with the target directory and the master in
 * its environment ({@code ZGRES_TARGET}, {@code ZGRES_NODE}, {@code ZGRES_GROUP}, {@code ZGRES_MASTER_HOST},
 * {@code ZGRES_MASTER_PORT}, {@code ZGRES_MASTER_CONNINFO}, {@code ZGRES_SYSTEM_IDENTIFIER}, and libpq's
 * {@code PGPASSFILE}), and must leave a PostgreSQL data directory of the group in the target (the deadman checks).
 */
@Component(service = CloneMethod.class, configurationPid = CommandMethod.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = CommandMethod.Config.class)
public class CommandMethod implements CloneMethod {
    public static final String PID = "zgres.clone.command";
    private static final Logger LOG = LoggerFactory.getLogger(CommandMethod.class);

    @ObjectClassDefinition(name = "zgres clone method: a custom command")
    public @interface Config {
        @AttributeDefinition(description = "The program (absolute path; local file only)")
        String command();

        @AttributeDefinition(description = "Its arguments (local file only)")
        String[] args() default {};

        @AttributeDefinition(description = "Longest a clone may take, minutes", min = "1")
        int timeout__minutes() default 360;
    }

    private volatile Config config;

    @Activate
    @Modified
    void configure(Config c) {
        config = c;
        try {
            check(Path.of(c.command()));
        } catch (IllegalArgumentException e) {
            // said now; every build refuses it again (the file may be fixed without a configuration change)
            LOG.error("{}: no replica is built with it until this is fixed", e.getMessage());
        }
    }

    /** The program must be an absolute, executable file nobody but its owner may change (checked before each run). */
    static void check(Path program) {
        if (!program.isAbsolute()) {
            throw new IllegalArgumentException(PID + ": command '" + program + "' must be an absolute path");
        }
        try {
            if (!Files.isRegularFile(program) || !Files.isExecutable(program)) {
                throw new IllegalArgumentException(PID + ": command " + program + " is not an executable file");
            }
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(program, LinkOption.NOFOLLOW_LINKS);
            if (p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE)) {
                throw new IllegalArgumentException(PID + ": command " + program + " is writable by others than its "
                        + "owner: refusing to run it");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(PID + ": command " + program + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String name() {
        return "command";
    }

    @Override
    public void build(CloneRequest r) throws Exception {
        Config c = config;
        check(Path.of(c.command()));
        List<String> cmd = new ArrayList<>();
        cmd.add(c.command());
        cmd.addAll(List.of(c.args()));
        Map<String, String> env = new HashMap<>(r.env());
        env.put("ZGRES_TARGET", r.target().toString());
        env.put("ZGRES_NODE", r.node().id().toString());
        env.put("ZGRES_GROUP", r.node().id().group());
        env.put("ZGRES_SYSTEM_IDENTIFIER", r.systemIdentifier());
        env.put("ZGRES_MASTER_CONNINFO", r.masterConninfo());
        r.master().ifPresent(m -> {
            env.put("ZGRES_MASTER_HOST", m.host());
            env.put("ZGRES_MASTER_PORT", Integer.toString(m.port()));
        });
        CommandResult res = r.node().run(cmd, env, Duration.ofMinutes(c.timeout__minutes()));
        if (!res.ok()) {
            throw new IOException(res.describe());
        }
        LOG.info("[{}] {} built the replica", r.node().id(), c.command());
    }
}
