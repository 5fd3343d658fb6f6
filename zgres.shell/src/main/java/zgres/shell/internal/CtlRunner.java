package zgres.shell.internal;

import java.io.ByteArrayInputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.ComponentServiceObjects;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * One-shot command mode for scripts ({@code ./zgres ctl ...}): when the framework property {@code zgres.ctl} holds a
 * Gogo command line (and {@code zgres.ctl.argc} / {@code zgres.ctl.arg.N} its arguments, passed untouched), run it
 * once the zgres commands are registered, print its result on stdout (errors on stderr),
 * and exit with 0 on success or 1 on failure (2 when the runtime never got to run it). The runtime's shutdown hook
 * stops the framework cleanly.
 */
@Component
public class CtlRunner {
    public static final String PROPERTY = "zgres.ctl";
    /** Set once the command runs (the start-up watchdog then leaves it alone). */
    static final java.util.concurrent.atomic.AtomicBoolean STARTED = new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * The commands are referenced so that the command line runs only once they are registered, as service objects so
     * that a runtime not running a command line does not create them (the zgres commands hold the cache of every
     * group: a database node must not watch the whole fleet because it has a console). Gogo creates them when a
     * command runs.
     */
    @Activate
    public CtlRunner(BundleContext context, @Reference CommandProcessor processor,
            @Reference ComponentServiceObjects<ZgresCommands> commands,
            @Reference ComponentServiceObjects<ConfigCommands> config,
            @Reference ComponentServiceObjects<AclCommands> acl) {
        String command = context.getProperty(PROPERTY);
        if (command == null || command.isBlank()) {
            return;
        }
        List<String> args = new ArrayList<>();
        String argc = context.getProperty(PROPERTY + ".argc");
        for (int i = 0; argc != null && i < Integer.parseInt(argc); i++) {
            String a = context.getProperty(PROPERTY + ".arg." + i);
            args.add(a == null ? "" : a);
        }
        watchdog(command, Integer.parseInt(System.getProperty("zgres.ctl.timeout", "30")));
        Thread t = new Thread(() -> exit(context, run(processor, command, args)), "zgres-ctl");
        t.setDaemon(false);
        t.start();
    }

    /**
     * Runs {@code command} (a Gogo command line) with {@code args} appended: each argument reaches the command as
     * exactly one string, whatever it holds (quotes, spaces, {@code $}), through a session variable; none is parsed.
     */
    public static int run(CommandProcessor processor, String command, List<String> args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        STARTED.set(true);
        try (CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), out, err)) {
            StringBuilder line = new StringBuilder(command);
            for (int i = 0; i < args.size(); i++) {
                session.put("zgres_ctl_arg" + i, args.get(i));
                line.append(" $zgres_ctl_arg").append(i);
            }
            Object result = session.execute(line.toString());
            if (result != null) {
                out.println(session.format(result, Converter.INSPECT));
            }
            out.flush();
            return 0;
        } catch (Exception e) {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            String name = command.startsWith("zgres:") ? command.substring(6) : command;
            if (message.startsWith("Cannot coerce") && Usage.commands().containsKey(name)) {
                // Gogo found no form of the command taking these arguments: say which ones it takes
                err.println("zgres: wrong arguments for " + name + "\n" + Usage.of(name));
            } else {
                err.println("zgres: " + message);
            }
            err.flush();
            return 1;
        }
    }

    /**
     * Ends the JVM with {@code code} and nothing else. Neither System.exit nor stopping the framework first: bnd's
     * launcher exits with its own code (117, "framework stopped") as soon as the framework stops, racing ours. Nothing
     * is lost: the command has finished (its ZooKeeper writes acknowledged), and a ctl session owns no ephemeral node.
     */
    static void exit(BundleContext context, int code) {
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(code);
    }

    /** Exits with 2 when the command has not started within {@code timeoutS} (an incomplete configuration). */
    private static void watchdog(String command, int timeoutS) {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(timeoutS * 1000L);
                if (!STARTED.get()) {
                    System.err.println("zgres: the runtime did not run '" + command + "' within " + timeoutS
                            + " s (is the configuration complete? see the log above)");
                    System.exit(2);
                }
            } catch (InterruptedException e) {
                // stopped first
            }
        }, "zgres-ctl-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
