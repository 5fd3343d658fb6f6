package zgres.shell.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

import org.apache.curator.framework.CuratorFramework;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import zgres.zookeeper.Coordination;

/**
 * {@code zgres:acl}: compares every znode of the zgres tree with the ACL its path should have, and with
 * {@code --apply} sets it: the one command that brings a tree created before ACLs existed (or by an older version)
 * under them. Run it as an operator.
 */
@Component(service = AclCommands.class)
@GogoCommand(scope = "zgres", function = {"acl"})
public class AclCommands {
    private final Coordination zk;

    @Activate
    public AclCommands(@Reference Coordination zk) {
        this.zk = zk;
    }

    @Descriptor("Check every znode's ACL against its role-based ACL (--apply: set the ones that differ)")
    public CharSequence acl(
            @Descriptor("set the ACLs that differ") @Parameter(names = {"--apply"}, presentValue = "true",
                    absentValue = "false") boolean apply) throws Exception {
        CuratorFramework c = zk.client();
        String root = zk.paths().root();
        if (c.checkExists().forPath(root) == null) {
            return "no zgres tree at " + root;
        }
        List<String> all = new ArrayList<>();
        walk(c, root, all);
        all.sort(Comparator.naturalOrder());
        List<String> differ = new ArrayList<>();
        for (String path : all) {
            List<ACL> want = zk.acls().getAclForPath(path);
            List<ACL> have;
            try {
                have = c.getACL().forPath(path);
            } catch (KeeperException.NoNodeException e) {
                continue; // gone meanwhile (an ephemeral)
            }
            if (!same(have, want)) {
                differ.add(path + ": " + describe(have) + (apply ? " -> " : " (should be ") + describe(want)
                        + (apply ? "" : ")"));
                if (apply) {
                    try {
                        c.setACL().withACL(want).forPath(path);
                    } catch (KeeperException.NoNodeException e) {
                        // gone meanwhile
                    }
                }
            }
        }
        String head = all.size() + " znodes under " + root + ", " + differ.size() + (apply ? " set" : " differ");
        return differ.isEmpty() ? head : head + "\n" + String.join("\n", differ);
    }

    private static void walk(CuratorFramework c, String path, List<String> out) throws Exception {
        out.add(path);
        List<String> children;
        try {
            children = c.getChildren().forPath(path);
        } catch (KeeperException.NoNodeException e) {
            return;
        }
        for (String child : children) {
            walk(c, path + "/" + child, out);
        }
    }

    private static boolean same(List<ACL> a, List<ACL> b) {
        return a.size() == b.size() && a.containsAll(b);
    }

    static String describe(List<ACL> acl) {
        return acl.stream().map(a -> a.getId().getScheme() + ":" + shortId(a.getId().getId()) + "=" + perms(a
                .getPerms())).collect(Collectors.joining(","));
    }

    private static String shortId(String id) {
        int colon = id.indexOf(':');
        return colon > 0 ? id.substring(0, colon) : id; // a digest id: the user, not the hash
    }

    static String perms(int p) {
        StringBuilder sb = new StringBuilder();
        sb.append((p & Perms.READ) != 0 ? 'r' : '-').append((p & Perms.WRITE) != 0 ? 'w' : '-')
                .append((p & Perms.CREATE) != 0 ? 'c' : '-').append((p & Perms.DELETE) != 0 ? 'd' : '-')
                .append((p & Perms.ADMIN) != 0 ? 'a' : '-');
        return sb.toString();
    }
}
