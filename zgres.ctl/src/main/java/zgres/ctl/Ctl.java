package zgres.ctl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.osgi.util.converter.Converters;

import zgres.shell.internal.AclCommands;
import zgres.shell.internal.BackupCommands;
import zgres.shell.internal.ConfigCommands;
import zgres.shell.internal.CtlRunner;
import zgres.shell.internal.ListingConverter;
import zgres.shell.internal.SyncCommands;
import zgres.shell.internal.Usage;
import zgres.shell.internal.ZgresCommands;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.internal.ZooKeeperComponent;

/**
 * {@code ./zgres ctl COMMAND [ARGS...]} without an OSGi framework: the console's own {@code zgres:} command objects
 * and Gogo's own parser and coercion, on a plain class path, connected like a node (the same
 * {@link ZooKeeperComponent}: authentication, TLS, ACLs). Same commands, output, JSON and exit codes as the console
 * (0 done, 1 refused or failed, 2 could not run). Settings come from system properties, as {@code ./zgres} passes
 * them: {@code zgres.ctl.zk}, {@code zgres.ctl.root}, {@code zgres.ctl.auth}, {@code zgres.ctl.credentials},
 * {@code zgres.ctl.acl}, and any other setting of {@code zgres.zookeeper} as {@code zgres.zookeeper.KEY}.
 *
 * <p>
 * One command needs the framework: {@code config set} validates values against the metatype of the bundles that use
 * them, which only a runtime has; {@code ./zgres} runs it in one (this class exits with {@link #NEEDS_RUNTIME}).
 */
public final class Ctl {
    /** the exit code telling {@code ./zgres} to run the command in a full runtime */
    public static final int NEEDS_RUNTIME = 3;

    private Ctl() {
    }

    public static void main(String[] argv) {
        int code;
        try {
            code = run(Arrays.asList(argv));
        } catch (IllegalArgumentException e) {
            System.err.println("zgres: " + e.getMessage());
            code = 2;
        } catch (Exception | LinkageError e) {
            System.err.println("zgres: " + e);
            code = 2;
        }
        System.out.flush();
        System.err.flush();
        // (not halt: a class-data archive is written at exit, see ./zgres)
        System.exit(code);
    }

    static int run(List<String> argv) throws Exception {
        if (argv.isEmpty() || argv.get(0).equals("help") || argv.get(0).equals("-h")
                || argv.get(0).equals("--help")) {
            return help(argv.size() > 1 ? argv.get(1) : "");
        }
        String command = argv.get(0);
        List<String> args = new ArrayList<>(argv.subList(1, argv.size()));
        if (!Usage.commands().containsKey(command)) {
            System.err.println("zgres: unknown command '" + command + "'\n\n" + Usage.summary());
            return 1;
        }
        if (command.equals("config") && !args.isEmpty() && args.get(0).equals("set")) {
            return NEEDS_RUNTIME;
        }
        ZooKeeperComponent zk = new ZooKeeperComponent(Converters.standardConverter().convert(zookeeper())
                .to(ZooKeeperComponent.Config.class));
        ClusterReader reader = new ClusterReader(zk.client(), zk.paths(), "ctl");
        reader.start();
        CommandProcessorImpl processor = new CommandProcessorImpl(new ThreadIOImpl());
        processor.addConverter(new ListingConverter());
        add(processor, new ZgresCommands(zk, reader));
        add(processor, new ConfigCommands(zk, reader));
        add(processor, new AclCommands(zk));
        add(processor, new BackupCommands(zk, reader));
        add(processor, new SyncCommands());
        int code = CtlRunner.run(processor, "zgres:" + command, args);
        // close the session now: a JVM exiting while the client's thread waits in the kernel spends 300 ms waiting
        // for it (HotSpot's exit waits for threads in native code)
        reader.close();
        zk.close();
        return code;
    }

    /** Registers every function its {@code @GogoCommand} names, as the framework's command registry does. */
    private static void add(CommandProcessorImpl processor, Object commands) {
        for (String f : Usage.functions(commands.getClass())) {
            processor.addCommand("zgres", commands, f);
        }
    }

    private static int help(String command) {
        if (command.isEmpty()) {
            System.out.println(Usage.summary());
            return 0;
        }
        String name = command.startsWith("zgres:") ? command.substring(6) : command;
        if (!Usage.commands().containsKey(name)) {
            System.err.println("zgres: unknown command '" + command + "'\n\n" + Usage.summary());
            return 1;
        }
        System.out.println(Usage.of(name));
        return 0;
    }

    /** The ZooKeeper settings of a ctl session, from what {@code ./zgres} passes. */
    static Map<String, Object> zookeeper() {
        Map<String, Object> m = new TreeMap<>();
        String connect = System.getProperty("zgres.ctl.zk", "");
        if (connect.isBlank()) {
            throw new IllegalArgumentException("no ZooKeeper: pass --zk HOST:PORT or set ZGRES_ZK");
        }
        m.put("connect", connect);
        m.put("root", System.getProperty("zgres.ctl.root", "/zgres"));
        m.put("auth", System.getProperty("zgres.ctl.auth", "digest"));
        m.put("credentials_file", System.getProperty("zgres.ctl.credentials", ""));
        m.put("acl_file", System.getProperty("zgres.ctl.acl", ""));
        // any other setting of zgres.zookeeper (TLS, SASL, ...) as -Dzgres.zookeeper.KEY=VALUE
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("zgres.zookeeper."))
                .forEach(k -> m.put(k.substring("zgres.zookeeper.".length()), System.getProperty(k)));
        return m;
    }
}
