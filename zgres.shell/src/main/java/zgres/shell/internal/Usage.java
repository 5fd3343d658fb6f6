package zgres.shell.internal;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;

/**
 * Help for the {@code zgres:} commands, from their own {@link Descriptor} and {@link Parameter} annotations: the list
 * of commands with one line each ({@code zgres}, {@code ./zgres ctl help}) and one command's usage
 * ({@code ./zgres ctl help switchover}; the console's {@code help zgres:switchover} shows the same from Gogo).
 */
public final class Usage {
    /** every command, in the order the list shows them, and the class that implements it */
    private static final Map<String, Class<?>> COMMANDS = new LinkedHashMap<>();

    static {
        for (String f : List.of("list", "await", "switchover", "failover", "switchovers", "cancel", "pause", "resume",
                "history")) {
            COMMANDS.put(f, ZgresCommands.class);
        }
        COMMANDS.put("backup", BackupCommands.class);
        COMMANDS.put("config", ConfigCommands.class);
        COMMANDS.put("plugins", ConfigCommands.class);
        COMMANDS.put("acl", AclCommands.class);
        COMMANDS.put("sync", SyncCommands.class);
    }

    private Usage() {
    }

    /** @return command name to its one-line description, in list order */
    public static Map<String, String> commands() {
        Map<String, String> m = new LinkedHashMap<>();
        COMMANDS.forEach((name, c) -> m.put(name, oneLine(methods(c, name).get(0))));
        return m;
    }

    /** @return the functions {@code c} implements (what its {@code @GogoCommand} names) */
    public static List<String> functions(Class<?> c) {
        return COMMANDS.entrySet().stream().filter(e -> e.getValue().equals(c)).map(Map.Entry::getKey).toList();
    }

    /** @return every command with its one-line description */
    public static String summary() {
        StringBuilder b = new StringBuilder("zgres commands (./zgres ctl COMMAND ..., or zgres:COMMAND in the console;"
                + " help zgres:COMMAND or ./zgres ctl help COMMAND for its options):\n");
        commands().forEach((name, line) -> b.append(String.format("  %-12s %s%n", name, line)));
        return b.toString().stripTrailing();
    }

    /** @return the usage of every form of {@code name}: synopsis, description, options and arguments */
    public static String of(String name) {
        Class<?> c = COMMANDS.get(name);
        if (c == null) {
            throw new IllegalArgumentException("unknown command '" + name + "'");
        }
        StringBuilder b = new StringBuilder();
        for (Method m : methods(c, name)) {
            if (b.length() > 0) {
                b.append('\n');
            }
            b.append("usage: zgres:").append(name);
            List<String> details = new ArrayList<>();
            java.lang.annotation.Annotation[][] annotations = m.getParameterAnnotations();
            Class<?>[] types = m.getParameterTypes();
            for (int i = 0; i < types.length; i++) {
                if (types[i] == CommandSession.class) {
                    continue;
                }
                Parameter p = find(annotations[i], Parameter.class);
                Descriptor d = find(annotations[i], Descriptor.class);
                String what = d == null ? "" : d.value();
                if (p != null) {
                    boolean flag = !Parameter.UNSPECIFIED.equals(p.presentValue());
                    String names = String.join("|", p.names());
                    b.append(" [").append(names).append(flag ? "" : " VALUE").append(']');
                    details.add(String.format("  %-22s %s", names + (flag ? "" : " VALUE"), what));
                } else {
                    String arg = types[i].isArray() || (m.isVarArgs() && i == types.length - 1) ? "<" + argName(what,
                            i) + ">..." : "<" + argName(what, i) + ">";
                    b.append(' ').append(arg);
                    details.add(String.format("  %-22s %s", arg, what));
                }
            }
            b.append("\n  ").append(describe(m)).append('\n');
            details.forEach(l -> b.append(l).append('\n'));
        }
        return b.toString().stripTrailing();
    }

    /** @return the error a command called without its arguments throws: its usage */
    public static IllegalArgumentException missing(String name) {
        return new IllegalArgumentException("missing arguments\n" + of(name));
    }

    /** The public methods implementing {@code name}, fewest arguments first. */
    static List<Method> methods(Class<?> c, String name) {
        List<Method> l = new ArrayList<>(Arrays.stream(c.getMethods()).filter(m -> m.getName().equals(name)
                && Modifier.isPublic(m.getModifiers()) && m.isAnnotationPresent(Descriptor.class)).toList());
        if (l.isEmpty()) {
            throw new IllegalStateException(c.getName() + " has no command " + name);
        }
        l.sort(Comparator.comparingInt(Method::getParameterCount));
        return l;
    }

    private static String describe(Method m) {
        return m.getAnnotation(Descriptor.class).value();
    }

    /** The description up to its first colon or parenthesis (the rest is detail for the usage). */
    private static String oneLine(Method m) {
        String d = describe(m);
        int cut = d.length();
        for (String stop : List.of(": ", " (", "; ")) {
            int i = d.indexOf(stop);
            if (i > 20 && i < cut) {
                cut = i;
            }
        }
        return d.substring(0, cut);
    }

    private static String argName(String descriptor, int i) {
        int colon = descriptor.indexOf(':');
        String w = descriptor.isBlank() ? "arg" + i : colon > 0 && colon < 20 ? descriptor.substring(0, colon)
                : descriptor.split("[ ,(]")[0];
        w = w.replaceAll("[^A-Za-z0-9_=-]", "");
        return w.isBlank() ? "arg" + i : w;
    }

    private static <A extends java.lang.annotation.Annotation> A find(java.lang.annotation.Annotation[] as,
            Class<A> type) {
        for (java.lang.annotation.Annotation a : as) {
            if (type.isInstance(a)) {
                return type.cast(a);
            }
        }
        return null;
    }
}
