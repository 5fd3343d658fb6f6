package zgres.shell.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupName;
import zgres.api.GroupState;
import zgres.api.NodeState;
import zgres.api.config.ConfigPolicy;
import zgres.api.config.ConfigValidator;
import zgres.api.config.ConfigValues;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.Coordination;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * {@code zgres:config} reads and writes the cluster configuration in ZooKeeper ({@code /config/{scope}/{pid}}, not
 * this runtime's Config Admin), validating with the one validator ({@link ConfigValidator}: the metatype of the
 * bundle that owns the PID, when it is installed here); {@code zgres:plugins} shows every node's zgres bundles and
 * versions from {@code /state}.
 */
@Component(service = ConfigCommands.class)
@GogoCommand(scope = "zgres", function = {"config", "plugins"})
public class ConfigCommands {
    private final Coordination zk;
    private final ClusterCache cache;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ConfigValidator validator;

    @Activate
    public ConfigCommands(@Reference Coordination zk, @Reference ClusterCache cache) {
        this.zk = zk;
        this.cache = cache;
    }

    @Descriptor("Cluster configuration in ZooKeeper: config list [scope] | config get [scope] <pid> | "
            + "config set [scope] <pid> key=value... | config delete [scope] <pid> [key...]; scope is all (default), "
            + "a group or a node id (the narrower wins, key by key)")
    public CharSequence config(@Descriptor("action: list, get, set or delete") String action,
            @Descriptor("arguments: [scope] <pid> [key=value ...]") String... args) throws Exception {
        List<String> a = new ArrayList<>(Arrays.asList(args));
        return switch (action) {
            case "list" -> list(a.isEmpty() ? Optional.empty() : Optional.of(ZkPaths.checkScope(a.get(0))));
            case "get" -> get(a);
            case "set" -> set(a);
            case "delete" -> delete(a);
            default -> throw new IllegalArgumentException("config: unknown action '" + action
                    + "' (list, get, set, delete)");
        };
    }

    /** Without arguments: the usage (not Gogo's "Cannot coerce"). */
    public CharSequence config() {
        throw Usage.missing("config");
    }

    /** Splits {@code [scope] pid rest...}: a scope is given when the second word is a PID (PIDs contain a dot). */
    private static String[] scopeAndPid(List<String> a, String usage) {
        List<String> words = a.stream().filter(w -> !w.contains("=")).toList();
        if (words.isEmpty()) {
            throw new IllegalArgumentException("usage: " + usage);
        }
        boolean scoped = words.size() >= 2 && (words.get(1).contains(".") || words.get(1).contains("~"))
                && a.indexOf(words.get(1)) == 1;
        String scope = scoped ? ZkPaths.checkScope(a.get(0)) : ZkPaths.ALL_SCOPE;
        String pid = ZkPaths.checkPid(scoped ? a.get(1) : a.get(0));
        return new String[] {scope, pid, Integer.toString(scoped ? 2 : 1)};
    }

    private String path(String scope, String pid) {
        return zk.paths().config(scope, pid);
    }

    CharSequence list(Optional<String> onlyScope) throws Exception {
        Table t = new Table("Configuration in " + zk.paths().configDir(), "Scope", "PID", "Keys");
        List<String> scopes;
        try {
            scopes = new ArrayList<>(zk.client().getChildren().forPath(zk.paths().configDir()));
        } catch (KeeperException.NoNodeException e) {
            scopes = new ArrayList<>();
        }
        scopes.sort(java.util.Comparator.comparingInt(ZkPaths::scopeRank).thenComparing(s -> s));
        int n = 0;
        for (String scope : scopes) {
            if (onlyScope.isPresent() && !onlyScope.get().equals(scope)) {
                continue;
            }
            List<String> pids;
            try {
                pids = new ArrayList<>(zk.client().getChildren().forPath(zk.paths().configDir() + "/" + scope));
            } catch (KeeperException.NoNodeException e) {
                continue;
            }
            pids.sort(null);
            for (String pid : pids) {
                String keys;
                try {
                    keys = String.join(", ", Znodes.decodeConfig(zk.client().getData().forPath(path(scope, pid)))
                            .keySet());
                } catch (IllegalArgumentException e) {
                    keys = "MALFORMED: " + e.getMessage();
                } catch (KeeperException.NoNodeException e) {
                    continue;
                }
                t.row(scope, pid, keys);
                n++;
            }
        }
        return n == 0 ? "no configuration in " + zk.paths().configDir() + onlyScope.map(s -> " for scope " + s)
                .orElse("") : t.toString();
    }

    CharSequence get(List<String> a) throws Exception {
        String[] sp = scopeAndPid(a, "config get [scope] <pid>");
        Stat stat = new Stat();
        byte[] data;
        try {
            data = zk.client().getData().storingStatIn(stat).forPath(path(sp[0], sp[1]));
        } catch (KeeperException.NoNodeException e) {
            throw new IllegalArgumentException("no configuration " + sp[1] + " in scope " + sp[0] + " ("
                    + path(sp[0], sp[1]) + ")");
        }
        Map<String, Object> props = Znodes.decodeConfig(data);
        return Znodes.describeConfig(props) + "\n(" + path(sp[0], sp[1]) + ", version " + stat.getVersion() + ")";
    }

    CharSequence set(List<String> a) throws Exception {
        String[] sp = scopeAndPid(a, "config set [scope] <pid> key=value ...");
        List<String> assignments = a.subList(Integer.parseInt(sp[2]), a.size());
        if (assignments.isEmpty() || assignments.stream().anyMatch(x -> !x.contains("=") || x.startsWith("="))) {
            throw new IllegalArgumentException("usage: config set [scope] <pid> key=value ... (got " + assignments
                    + ")");
        }
        // what only a local file may set is refused here, before anything is written (the bridge refuses it too)
        List<String> refused = new ArrayList<>();
        ConfigPolicy.localOnlyPid(sp[1], true).ifPresent(refused::add);
        for (String as : assignments) {
            ConfigPolicy.localOnlyKey(sp[1], as.substring(0, as.indexOf('=')).trim()).ifPresent(refused::add);
        }
        if (!refused.isEmpty()) {
            throw new IllegalArgumentException("refused, nothing written: " + String.join("; ", refused)
                    + " (set it in the runtime's local configuration file)");
        }
        ConfigValidator v = validator;
        boolean described = v != null && v.knows(sp[1]);
        String path = path(sp[0], sp[1]);
        for (int attempt = 0; attempt < 5; attempt++) {
            Stat stat = new Stat();
            Map<String, Object> props = new TreeMap<>();
            boolean exists = true;
            try {
                props.putAll(Znodes.decodeConfig(zk.client().getData().storingStatIn(stat).forPath(path)));
            } catch (KeeperException.NoNodeException e) {
                exists = false;
            }
            for (String as : assignments) {
                int eq = as.indexOf('=');
                String key = as.substring(0, eq).trim();
                String text = as.substring(eq + 1);
                props.put(key, described ? v.parse(sp[1], key, text).orElse(text) : ConfigValues.guess(text));
            }
            if (described) {
                List<String> errors = v.validate(sp[1], props, false);
                if (!errors.isEmpty()) {
                    throw new IllegalArgumentException("rejected, nothing written: " + String.join("; ", errors));
                }
            }
            try {
                if (exists) {
                    zk.client().setData().withVersion(stat.getVersion()).forPath(path, Znodes.encodeConfig(props));
                } else {
                    zk.client().create().creatingParentsIfNeeded().forPath(path, Znodes.encodeConfig(props));
                }
                return "wrote " + path + ": " + new String(Znodes.encodeConfig(props), java.nio.charset.StandardCharsets.UTF_8)
                        + (described ? "" : "\n(no bundle here describes " + sp[1] + ": not validated)");
            } catch (KeeperException.BadVersionException | KeeperException.NodeExistsException e) {
                // written concurrently: read again
            }
        }
        throw new IllegalStateException("config set: " + path + " kept changing concurrently; try again");
    }

    CharSequence delete(List<String> a) throws Exception {
        String[] sp = scopeAndPid(a, "config delete [scope] <pid> [key ...]");
        List<String> keys = a.subList(Integer.parseInt(sp[2]), a.size());
        String path = path(sp[0], sp[1]);
        if (keys.isEmpty()) {
            try {
                zk.client().delete().forPath(path);
            } catch (KeeperException.NoNodeException e) {
                throw new IllegalArgumentException("no configuration " + sp[1] + " in scope " + sp[0]);
            }
            return "deleted " + path;
        }
        for (int attempt = 0; attempt < 5; attempt++) {
            Stat stat = new Stat();
            Map<String, Object> props;
            try {
                props = new TreeMap<>(Znodes.decodeConfig(zk.client().getData().storingStatIn(stat).forPath(path)));
            } catch (KeeperException.NoNodeException e) {
                throw new IllegalArgumentException("no configuration " + sp[1] + " in scope " + sp[0]);
            }
            Set<String> missing = new TreeSet<>(keys);
            missing.removeAll(props.keySet());
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException(path + " has no key " + missing);
            }
            keys.forEach(props::remove);
            try {
                zk.client().setData().withVersion(stat.getVersion()).forPath(path, Znodes.encodeConfig(props));
                return "removed " + keys + " from " + path;
            } catch (KeeperException.BadVersionException e) {
                // written concurrently: read again
            }
        }
        throw new IllegalStateException("config delete: " + path + " kept changing concurrently; try again");
    }

    @Descriptor("Every node's zgres bundles and their versions, from /state (version skew is marked with *)")
    public CharSequence plugins() throws Exception {
        return plugins(null);
    }

    @Descriptor("One group's nodes, their zgres bundles and versions, from /state (version skew is marked with *)")
    public CharSequence plugins(@Descriptor("group name") String group) throws Exception {
        if (group != null) {
            GroupName.require(group);
        }
        if (!cache.awaitInitialized(15, TimeUnit.SECONDS)) {
            throw new IllegalStateException("cannot read ZooKeeper at " + zk.connectString() + " within 15 s");
        }
        ClusterSnapshot s = cache.snapshot();
        Map<String, Set<String>> versions = new TreeMap<>();
        List<NodeState> nodes = new ArrayList<>();
        for (GroupState g : s.groups().values()) {
            if (group != null && !g.name().equals(group)) {
                continue;
            }
            for (NodeState n : g.states().values()) {
                nodes.add(n);
                n.plugins().forEach((b, v) -> versions.computeIfAbsent(b, k -> new TreeSet<>()).add(v));
            }
        }
        if (group != null && s.group(group).isEmpty()) {
            throw new IllegalArgumentException("no group '" + group + "' in ZooKeeper");
        }
        Table t = new Table("Plugins" + (group == null ? "" : " of " + group), "Group", "Node", "Bundle", "Version");
        for (NodeState n : nodes) {
            for (Map.Entry<String, String> p : new TreeMap<>(n.plugins()).entrySet()) {
                boolean skew = versions.get(p.getKey()).size() > 1;
                t.row(n.id().group(), n.id().address(), p.getKey(), p.getValue() + (skew ? " *" : ""));
            }
        }
        long skewed = versions.values().stream().filter(v -> v.size() > 1).count();
        return t + (skewed == 0 ? "\nno version skew" : "\n* version skew: " + versions.entrySet().stream()
                .filter(e -> e.getValue().size() > 1).map(e -> e.getKey() + " " + e.getValue()).toList());
    }
}
