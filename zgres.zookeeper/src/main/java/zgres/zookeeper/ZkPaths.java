package zgres.zookeeper;

import zgres.api.GroupName;
import zgres.api.NodeId;

/** The zgres znode layout under one root (default {@code /zgres}). */
public final class ZkPaths {
    public static final String DEFAULT_ROOT = "/zgres";

    private final String root;

    public ZkPaths(String root) {
        if (root == null || root.isBlank()) {
            root = DEFAULT_ROOT;
        }
        if (!root.startsWith("/") || (root.length() > 1 && root.endsWith("/")) || root.contains("//")) {
            throw new IllegalArgumentException("invalid ZooKeeper root '" + root + "': must be an absolute path like /zgres");
        }
        this.root = root;
    }

    public String root() {
        return root;
    }

    public String stateDir() {
        return root + "/state";
    }

    public String connDir() {
        return root + "/conn";
    }

    public String lockDir() {
        return root + "/lock";
    }

    public String staticDir() {
        return root + "/static";
    }

    public String syncDir() {
        return root + "/sync";
    }

    public String switchoverDir() {
        return root + "/switchover";
    }

    public String backupDir() {
        return root + "/backup";
    }

    public String pauseDir() {
        return root + "/pause";
    }

    public String historyDir() {
        return root + "/history";
    }

    public String configDir() {
        return root + "/config";
    }

    public String bootstrapDir() {
        return root + "/bootstrap";
    }

    /** @return the directories a cluster snapshot is made of */
    public java.util.List<String> snapshotDirs() {
        return java.util.List.of(stateDir(), connDir(), lockDir(), staticDir(), syncDir(), switchoverDir(), pauseDir());
    }

    public String state(NodeId id) {
        return stateDir() + "/" + id;
    }

    public String conn(NodeId id) {
        return connDir() + "/" + id;
    }

    public String lock(String group) {
        return lockDir() + "/" + GroupName.require(group);
    }

    public String dbId(String group) {
        return staticDir() + "/" + GroupName.require(group) + "-db-id";
    }

    public String timeline(String group) {
        return staticDir() + "/" + GroupName.require(group) + "-timeline";
    }

    public String sync(String group) {
        return syncDir() + "/" + GroupName.require(group);
    }

    /** @return the group's backup request ({@code zgres:backup}) */
    public String backup(String group) {
        return backupDir() + "/" + GroupName.require(group);
    }

    public String switchover(String group) {
        return switchoverDir() + "/" + GroupName.require(group);
    }

    public String pause(String group) {
        return pauseDir() + "/" + GroupName.require(group);
    }

    public String history(String group) {
        return historyDir() + "/" + GroupName.require(group);
    }

    /** The scope of every runtime in {@code /config}. */
    public static final String ALL_SCOPE = "all";

    /**
     * @return {@code /config/{scope}/{pid}}
     * @throws IllegalArgumentException when the scope is not {@code all}, a group name or a node id, or the PID is not
     *         a PID or a named factory configuration
     */
    public String config(String scope, String pid) {
        return configDir() + "/" + checkScope(scope) + "/" + checkPid(pid);
    }

    /** @throws IllegalArgumentException when {@code scope} is neither all, a group name nor a node id */
    public static String checkScope(String scope) {
        if (ALL_SCOPE.equals(scope)) {
            return scope;
        }
        if (scope != null && scope.contains("_")) {
            NodeId.parse(scope);
        } else {
            GroupName.require(scope);
        }
        return scope;
    }

    /** @return how broad a scope is: 0 for all, 1 for a group, 2 for a node */
    public static int scopeRank(String scope) {
        if (ALL_SCOPE.equals(scope)) {
            return 0;
        }
        return scope.contains("_") ? 2 : 1;
    }

    /** @throws IllegalArgumentException when {@code pid} is not a PID or a named factory configuration */
    public static String checkPid(String pid) {
        if (pid == null || !pid.matches("[A-Za-z0-9_.-]{1,200}(~[A-Za-z0-9_.-]{1,200})?")) {
            throw new IllegalArgumentException("'" + pid + "' is not a configuration PID (e.g. zgres.deadman.cluster)"
                    + " or a named factory configuration (e.g. zgres.plugin.haproxy~edge)");
        }
        return pid;
    }

    public String bootstrap(String group) {
        return bootstrapDir() + "/" + GroupName.require(group);
    }

    /** @return the path of {@code child} relative to the root, or null when it is not under the root */
    public String relative(String path) {
        if (path.equals(root)) {
            return "";
        }
        String prefix = root.equals("/") ? "/" : root + "/";
        return path.startsWith(prefix) ? path.substring(prefix.length()) : null;
    }
}
