package zgres.config.internal;

import java.io.IOException;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.config.ConfigPolicy;
import zgres.api.config.ConfigValidator;

/**
 * Writes configurations into Config Admin from the two sources zgres has, with one precedence rule for every PID and
 * every key: <b>a key set in the local file wins; otherwise the narrowest {@code /config} scope in ZooKeeper that sets
 * it (node id, then group, then {@code all}); otherwise the metatype default.</b>
 *
 * <p>Each configuration it writes is marked: {@value #SOURCE} ({@code local}, {@code zookeeper} or
 * {@code local+zookeeper}), {@value #LOCAL_KEYS} (the keys that came from the local file) and {@value #ZNODES} (the
 * znodes the rest came from). A configuration without the mark (created by someone else, e.g. through the console) is
 * never touched. Every write is validated first with the owning bundle's metatype ({@link ConfigValidator}); a
 * rejected one changes nothing: the component keeps its last good configuration.
 */
final class ConfigWriter {
    static final String SOURCE = "zgres.config.source";
    static final String LOCAL_KEYS = "zgres.config.local.keys";
    static final String ZNODES = "zgres.config.znodes";
    static final String LOCAL = "local";
    static final String ZOOKEEPER = "zookeeper";
    static final String BOTH = "local+zookeeper";
    private static final Set<String> MARKS = Set.of(SOURCE, LOCAL_KEYS, ZNODES, "service.pid", "service.factoryPid",
            "service.bundleLocation");
    private static final Logger LOG = LoggerFactory.getLogger(ConfigWriter.class);

    private final ConfigurationAdmin cm;
    private final ConfigValidator validator;
    private final AtomicLong applied = new AtomicLong();
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    ConfigWriter(ConfigurationAdmin cm, ConfigValidator validator) {
        this.cm = cm;
        this.validator = validator;
    }

    long applied() {
        return applied.get();
    }

    void close() {
        closed = true;
    }

    boolean closed() {
        return closed;
    }

    /** A configuration and what it says about itself. */
    private record Current(Configuration config, Map<String, Object> props, String source, Set<String> localKeys) {
        Map<String, Object> localValues() {
            Map<String, Object> m = new TreeMap<>();
            localKeys.forEach(k -> {
                if (props.containsKey(k)) {
                    m.put(k, props.get(k));
                }
            });
            return m;
        }
    }

    private Map<String, Current> managed() throws IOException, InvalidSyntaxException {
        Map<String, Current> out = new HashMap<>();
        Configuration[] all = cm.listConfigurations("(" + SOURCE + "=*)");
        if (all != null) {
            for (Configuration c : all) {
                current(c).ifPresent(x -> out.put(c.getPid(), x));
            }
        }
        return out;
    }

    private static java.util.Optional<Current> current(Configuration c) {
        Dictionary<String, Object> d = c.getProperties();
        if (d == null || d.get(SOURCE) == null) {
            return java.util.Optional.empty();
        }
        Map<String, Object> props = new TreeMap<>();
        for (Enumeration<String> e = d.keys(); e.hasMoreElements();) {
            String k = e.nextElement();
            if (!MARKS.contains(k)) {
                props.put(k, d.get(k));
            }
        }
        Object lk = d.get(LOCAL_KEYS);
        Set<String> keys = new TreeSet<>();
        if (lk instanceof String[] a) {
            keys.addAll(Arrays.asList(a));
        }
        return java.util.Optional.of(new Current(c, props, String.valueOf(d.get(SOURCE)), keys));
    }

    /** @return true when a configuration exists for {@code pid} that zgres does not manage */
    private boolean foreign(String pid) throws IOException, InvalidSyntaxException {
        Configuration[] c = cm.listConfigurations("(service.pid=" + pid.replace("\\", "\\\\").replace("(", "\\(")
                .replace(")", "\\)").replace("*", "\\*") + ")");
        return c != null && c.length > 0 && current(c[0]).isEmpty();
    }

    /**
     * The ZooKeeper layer changed: {@code wanted} is what {@code /config} says for each PID that concerns this runtime.
     */
    synchronized void fromZooKeeper(Map<String, ConfigLayers.Effective> wanted, String configDir)
            throws IOException, InvalidSyntaxException {
        Map<String, Current> mine = managed();
        for (ConfigLayers.Effective e : wanted.values()) {
            try {
                Current cur = mine.get(e.pid());
                if (cur == null && foreign(e.pid())) {
                    report("foreign:" + e.pid(), "config: " + e.pid() + " was configured on this runtime by hand (not "
                            + "from its local file or ZooKeeper): it is left alone, " + e.sources() + " is not applied");
                    continue;
                }
                Optional<String> refused = refusal(e, cur);
                if (refused.isPresent()) {
                    boolean stale = cur != null && cur.source().equals(ZOOKEEPER) && ConfigPolicy.localOnlyPid(
                            e.pid(), false).isPresent();
                    // (once per version of the znodes: a property map can hold arrays, whose text differs each time)
                    refuse("refused:" + e.pid() + e.sources() + e.newestMtime(), "config: refused " + String.join(", ", e.sources()) + ": "
                            + refused.get()
                            + "; " + (cur == null ? "not creating it" : stale ? "deleting the instance an older "
                                    + "version created from ZooKeeper" : "the component keeps its last good "
                                            + "configuration"));
                    if (stale) {
                        cur.config().delete();
                        applied.incrementAndGet();
                    }
                    continue;
                }
                Map<String, Object> local = cur == null ? Map.of() : cur.localValues();
                Map<String, Object> merged = new TreeMap<>(e.props());
                merged.putAll(local);
                write(e.pid(), cur, merged, local.isEmpty() && (cur == null || cur.localKeys().isEmpty()) ? ZOOKEEPER
                        : BOTH, cur == null ? Set.of() : cur.localKeys(), e.sources(), "from " + e.sources(),
                        e.newestMtime());
            } catch (IOException | RuntimeException ex) {
                if (!closed) {
                    LOG.error("config: could not apply {} from {}: {}", e.pid(), e.sources(), ex.toString());
                }
            }
        }
        for (Current c : mine.values()) {
            String pid = c.config().getPid();
            if (wanted.containsKey(pid) || c.source().equals(LOCAL)) {
                continue;
            }
            try {
                if (c.localKeys().isEmpty()) {
                    c.config().delete();
                    applied.incrementAndGet();
                    LOG.warn("config: deleted {}: no znode under {} concerns this runtime any more", pid, configDir);
                } else {
                    write(pid, c, c.localValues(), LOCAL, c.localKeys(), List.of(), "back to its local file only", 0);
                }
            } catch (IOException | IllegalStateException ex) {
                LOG.error("config: could not remove the ZooKeeper values of {}: {}", pid, ex.toString());
            }
        }
    }

    /**
     * @return why ZooKeeper may not set what {@code e} says (a local-only PID or key, a factory instance the local file
     *         does not define: {@link ConfigPolicy}), or empty
     */
    private static Optional<String> refusal(ConfigLayers.Effective e, Current cur) {
        for (String key : e.props().keySet()) {
            if (ConfigPolicy.secret(key)) {
                return ConfigPolicy.localOnlyKey(e.pid(), key); // secrets first: never in ZooKeeper, whatever else
            }
        }
        boolean definedLocally = cur != null && !cur.source().equals(ZOOKEEPER);
        Optional<String> pid = ConfigPolicy.localOnlyPid(e.pid(), definedLocally);
        if (pid.isPresent()) {
            return pid;
        }
        for (String key : e.props().keySet()) {
            Optional<String> k = ConfigPolicy.localOnlyKey(e.pid(), key);
            if (k.isPresent()) {
                return k;
            }
        }
        return Optional.empty();
    }

    /** The local file: {@code file} maps each PID it names to its properties. */
    synchronized void fromLocalFile(Map<String, Map<String, Object>> file, String name)
            throws IOException, InvalidSyntaxException {
        Map<String, Current> mine = managed();
        for (Map.Entry<String, Map<String, Object>> e : file.entrySet()) {
            String pid = e.getKey();
            Current cur = mine.get(pid);
            Map<String, Object> merged = new TreeMap<>();
            if (cur != null) {
                merged.putAll(cur.props());
                cur.localKeys().forEach(merged::remove);
            }
            merged.putAll(e.getValue());
            boolean zk = cur != null && (cur.source().equals(ZOOKEEPER) || cur.source().equals(BOTH));
            write(pid, cur, merged, zk ? BOTH : LOCAL, e.getValue().keySet(), List.of(), "from " + name, 0);
        }
        for (Current c : mine.values()) {
            String pid = c.config().getPid();
            if (file.containsKey(pid) || c.localKeys().isEmpty()) {
                continue;
            }
            if (c.source().equals(LOCAL)) {
                c.config().delete();
                applied.incrementAndGet();
                LOG.warn("config: deleted {}: {} does not name it any more", pid, name);
            } else {
                Map<String, Object> zkOnly = new TreeMap<>(c.props());
                c.localKeys().forEach(zkOnly::remove);
                write(pid, c, zkOnly, ZOOKEEPER, Set.of(), List.of(), "without the keys " + c.localKeys()
                        + " that " + name + " no longer sets", 0);
            }
        }
    }

    private void write(String pid, Current cur, Map<String, Object> props, String source, Set<String> localKeys,
            List<String> znodes, String what, long mtime) throws IOException {
        List<String> errors = validator.validate(pid, props, true);
        if (!errors.isEmpty()) {
            report("invalid:" + pid + errors + what, "config: rejected " + String.join("; ", errors) + " (" + what + "); "
                    + (cur == null ? "not creating it" : "the component keeps its last good configuration"));
            return;
        }
        Dictionary<String, Object> d = new Hashtable<>(props);
        d.put(SOURCE, source);
        if (!localKeys.isEmpty()) {
            d.put(LOCAL_KEYS, new TreeSet<>(localKeys).toArray(String[]::new));
        }
        if (!znodes.isEmpty()) {
            d.put(ZNODES, znodes.toArray(String[]::new));
        } else if (cur != null && source.equals(BOTH) && cur.config().getProperties().get(ZNODES) != null) {
            d.put(ZNODES, cur.config().getProperties().get(ZNODES));
        }
        Configuration c = cur != null ? cur.config() : create(pid);
        if (c.updateIfDifferent(d)) {
            applied.incrementAndGet();
            long delay = mtime > 0 ? System.currentTimeMillis() - mtime : -1;
            LOG.info("config: {} {} {}{}{}", cur == null ? "created" : "updated", pid, what, delay >= 0 ? " (" + delay
                    + " ms after the znode changed)" : "", validator.knows(pid) ? "" : " (no bundle here describes it: "
                            + "stored, unused until one does)");
        }
    }

    private Configuration create(String pid) throws IOException {
        int t = pid.indexOf('~');
        return t < 0 ? cm.getConfiguration(pid, "?") : cm.getFactoryConfiguration(pid.substring(0, t),
                pid.substring(t + 1), "?");
    }

    /** Bad input from a file or a znode is an expected fault: one WARN line per occurrence, nothing changes. */
    private void refuse(String key, String message) {
        if (reported.add(key)) {
            LOG.error(message);
        }
    }

    private void report(String key, String message) {
        if (reported.add(key)) {
            LOG.warn(message);
        }
    }
}
