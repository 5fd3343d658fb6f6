package zgres.zookeeper;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

import org.apache.curator.framework.api.ACLProvider;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;


/**
 * The ACL of every zgres znode, by role and by path; every client of the runtime creates znodes with it.
 *
 * <table>
 * <caption>Permissions (r read, w write, c create children, d delete children, a change the ACL)</caption>
 * <tr><th>path</th><th>node</th><th>operator</th><th>sync</th></tr>
 * <tr><td>the root and its parents</td><td>rc</td><td>rwcda</td><td>r</td></tr>
 * <tr><td>{@code /state /conn /lock /static /history /sync /switchover /bootstrap /backup} and below</td><td>rwcd</td>
 * <td>rwcda</td><td>r</td></tr>
 * <tr><td>{@code /config /pause} and anything else under the root</td><td>r</td><td>rwcda</td><td>r</td></tr>
 * </table>
 * The world gets nothing (read, when the operator chooses {@code acl_world_read}). Without authentication
 * ({@code auth = none}) every znode is open to everyone, as before ACLs existed.
 */
public final class ZkAcls implements ACLProvider {
    /** Where database nodes write: what the deadman owns, and the switchover it carries out. */
    public static final Set<String> NODE_AREAS = Set.of("state", "conn", "lock", "static", "history", "sync", "switchover",
            "bootstrap", "backup");

    private static final int READ = Perms.READ;
    private static final int NODE_WRITE = Perms.READ | Perms.WRITE | Perms.CREATE | Perms.DELETE;

    private final ZkPaths paths;
    private final List<Id> node;
    private final List<Id> operator;
    private final List<Id> sync;
    private final boolean worldRead;
    private final boolean open;

    /**
     * An ACL provider for an authenticated ensemble.
     *
     * @param node ids ({@code scheme:id}) of database nodes
     * @param operator ids of operators
     * @param sync ids of read-only clients (sync daemons)
     * @param worldRead let anyone read
     */
    public ZkAcls(ZkPaths paths, List<String> node, List<String> operator, List<String> sync, boolean worldRead) {
        this.paths = paths;
        this.node = ids("acl_node", node);
        this.operator = ids("acl_operator", operator);
        this.sync = ids("acl_sync", sync);
        this.worldRead = worldRead;
        this.open = false;
        if (this.operator.isEmpty()) {
            throw new IllegalArgumentException("acl_operator is empty: with authentication on, at least one operator "
                    + "identity must be able to change the tree (see ./zgres credentials)");
        }
    }

    private ZkAcls(ZkPaths paths) {
        this.paths = paths;
        this.node = List.of();
        this.operator = List.of();
        this.sync = List.of();
        this.worldRead = true;
        this.open = true;
    }

    /** No authentication: every znode open to everyone. */
    public static ZkAcls open(ZkPaths paths) {
        return new ZkAcls(paths);
    }

    public boolean isOpen() {
        return open;
    }

    /** @return the role {@code id} has, or null */
    public String roleOf(String id) {
        Id x = parse("id", id);
        if (operator.contains(x)) {
            return "operator";
        }
        if (node.contains(x)) {
            return "node";
        }
        return sync.contains(x) ? "sync" : null;
    }

    @Override
    public List<ACL> getDefaultAcl() {
        return getAclForPath(paths.root());
    }

    @Override
    public List<ACL> getAclForPath(String path) {
        if (open) {
            return Ids.OPEN_ACL_UNSAFE;
        }
        String root = paths.root();
        int nodePerms;
        if (path == null || path.equals(root) || !path.startsWith(root + "/")) {
            nodePerms = READ | Perms.CREATE; // the root, its parents: nodes create the directories
        } else {
            String rest = path.substring(root.length() + 1);
            int slash = rest.indexOf('/');
            String area = slash < 0 ? rest : rest.substring(0, slash);
            nodePerms = NODE_AREAS.contains(area) ? NODE_WRITE : READ;
        }
        List<ACL> acl = new ArrayList<>();
        operator.forEach(id -> acl.add(new ACL(Perms.ALL, id)));
        node.stream().filter(id -> !operator.contains(id)).forEach(id -> acl.add(new ACL(nodePerms, id)));
        sync.stream().filter(id -> !operator.contains(id) && !node.contains(id)).forEach(id -> acl.add(new ACL(READ,
                id)));
        if (worldRead) {
            acl.add(new ACL(READ, Ids.ANYONE_ID_UNSAFE));
        }
        return acl;
    }

    private static List<Id> ids(String key, List<String> values) {
        List<Id> out = new ArrayList<>();
        for (String v : values) {
            if (!v.isBlank()) {
                out.add(parse(key, v.trim()));
            }
        }
        return List.copyOf(out);
    }

    /** Parses {@code scheme:id} (a digest id is {@code digest:user:base64-sha1}). */
    public static Id parse(String key, String value) {
        int colon = value.indexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new IllegalArgumentException(key + ": '" + value + "' is not a ZooKeeper id (scheme:id, e.g. "
                    + "digest:zgres-node:BASE64SHA1=, x509:CN=node1, sasl:zgres/node1@REALM)");
        }
        String scheme = value.substring(0, colon);
        if (!Set.of("digest", "x509", "sasl", "ip").contains(scheme)) {
            throw new IllegalArgumentException(key + ": '" + value + "': unknown scheme '" + scheme + "' (digest, x509, "
                    + "sasl, ip)");
        }
        return new Id(scheme, value.substring(colon + 1));
    }

    /** @return ZooKeeper's digest id of {@code user:password}: {@code digest:user:base64(sha1(user:password))} */
    public static String digestId(String userColonPassword) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA1").digest(userColonPassword.getBytes(StandardCharsets.UTF_8));
            return "digest:" + userColonPassword.substring(0, userColonPassword.indexOf(':')) + ":"
                    + Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
