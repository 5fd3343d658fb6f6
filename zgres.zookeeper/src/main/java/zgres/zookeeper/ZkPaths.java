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

    public String switchover(String group) {
        return switchoverDir() + "/" + GroupName.require(group);
    }

    public String pause(String group) {
        return pauseDir() + "/" + GroupName.require(group);
    }

    public String history(String group) {
        return historyDir() + "/" + GroupName.require(group);
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
