package zgres.config.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import zgres.zookeeper.ZkPaths;

/**
 * The scopes of {@code /config/{scope}/{pid}}: {@code all}, a group name, a node id. A runtime takes configuration
 * from {@code all}, the groups and the node ids it serves; for each PID the layers are overlaid key by key from the
 * broadest to the narrowest, so the narrower wins.
 */
final class ConfigLayers {
    static final String ALL = ZkPaths.ALL_SCOPE;

    /** One znode. */
    record Entry(String scope, String pid, Map<String, Object> props, String path, long mtime) {}

    /** What one PID resolves to on this runtime, and the znodes it came from (broadest first). */
    record Effective(String pid, Map<String, Object> props, List<String> sources, long newestMtime) {}

    private ConfigLayers() {}

    /** @return how broad a scope is: 0 for all, 1 for a group, 2 for a node */
    static int rank(String scope) {
        return ZkPaths.scopeRank(scope);
    }

    static String checkScope(String scope) {
        return ZkPaths.checkScope(scope);
    }

    static String checkPid(String pid) {
        return ZkPaths.checkPid(pid);
    }

    /** @return the scopes in overlay order: all, then groups, then node ids */
    static List<String> ordered(Collection<String> scopes) {
        List<String> l = new ArrayList<>(new java.util.TreeSet<>(scopes));
        l.sort(java.util.Comparator.comparingInt(ConfigLayers::rank));
        if (!l.contains(ALL)) {
            l.add(0, ALL);
        }
        return l;
    }

    static Map<String, Effective> effective(Collection<Entry> entries, List<String> scopes) {
        Map<String, Map<String, Entry>> byPid = new TreeMap<>();
        for (Entry e : entries) {
            byPid.computeIfAbsent(e.pid(), k -> new LinkedHashMap<>()).put(e.scope(), e);
        }
        Map<String, Effective> out = new TreeMap<>();
        for (Map.Entry<String, Map<String, Entry>> p : byPid.entrySet()) {
            Map<String, Object> props = new TreeMap<>();
            List<String> sources = new ArrayList<>();
            long newest = 0;
            for (String scope : scopes) {
                Entry e = p.getValue().get(scope);
                if (e != null) {
                    props.putAll(e.props());
                    sources.add(e.path());
                    newest = Math.max(newest, e.mtime());
                }
            }
            if (!sources.isEmpty()) {
                out.put(p.getKey(), new Effective(p.getKey(), props, sources, newest));
            }
        }
        return out;
    }
}
