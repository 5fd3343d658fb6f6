package zgres.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.junit.jupiter.api.Test;

/** The ACL of every path, by role: the table of the README. */
class ZkAclsTest {
    static final String NODE = ZkAcls.digestId("zgres-node:n");
    static final String OPERATOR = ZkAcls.digestId("zgres-operator:o");
    static final String SYNC = ZkAcls.digestId("zgres-sync:s");
    final ZkAcls acls = new ZkAcls(new ZkPaths("/zgres"), List.of(NODE), List.of(OPERATOR), List.of(SYNC), false);

    int perms(String path, String id) {
        Id x = ZkAcls.parse("test", id);
        return acls.getAclForPath(path).stream().filter(a -> a.getId().equals(x)).mapToInt(ACL::getPerms)
                .findFirst().orElse(0);
    }

    @Test
    void eachRoleGetsWhatTheTableSays() {
        int rwcd = Perms.READ | Perms.WRITE | Perms.CREATE | Perms.DELETE;
        Map<String, int[]> want = Map.of(
                "/zgres", new int[] {Perms.READ | Perms.CREATE, Perms.ALL, Perms.READ},
                "/zgres/state/g_10.0.0.1:5432", new int[] {rwcd, Perms.ALL, Perms.READ},
                "/zgres/lock/g", new int[] {rwcd, Perms.ALL, Perms.READ},
                "/zgres/history/g/h-0000000001", new int[] {rwcd, Perms.ALL, Perms.READ},
                "/zgres/switchover/g", new int[] {rwcd, Perms.ALL, Perms.READ},
                "/zgres/sync/g", new int[] {rwcd, Perms.ALL, Perms.READ},
                "/zgres/config/all/zgres.sync", new int[] {Perms.READ, Perms.ALL, Perms.READ},
                "/zgres/pause/g", new int[] {Perms.READ, Perms.ALL, Perms.READ},
                "/zgres/somethingelse", new int[] {Perms.READ, Perms.ALL, Perms.READ});
        want.forEach((path, p) -> {
            assertThat(perms(path, NODE)).as("node " + path).isEqualTo(p[0]);
            assertThat(perms(path, OPERATOR)).as("operator " + path).isEqualTo(p[1]);
            assertThat(perms(path, SYNC)).as("sync " + path).isEqualTo(p[2]);
            assertThat(acls.getAclForPath(path)).as("nobody else: " + path).hasSize(3);
        });
        assertThat(new ZkAcls(new ZkPaths("/zgres"), List.of(NODE), List.of(OPERATOR), List.of(), true)
                .getAclForPath("/zgres/lock/g")).anySatisfy(a -> assertThat(a.getId().getScheme()).isEqualTo("world"));
        assertThat(acls.roleOf(NODE)).isEqualTo("node");
        assertThat(acls.roleOf(ZkAcls.digestId("zgres-node:wrong"))).isNull();
    }

    @Test
    void digestIdsAreZooKeepers() {
        // the value ZooKeeper's DigestAuthenticationProvider computes for super:test (its documentation's example)
        assertThat(ZkAcls.digestId("super:test")).isEqualTo("digest:super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }

    @Test
    void badIdsAndNoOperatorAreRefused() {
        assertThatThrownBy(() -> ZkAcls.parse("acl_node", "zgres-node")).hasMessageContaining("acl_node")
                .hasMessageContaining("scheme:id");
        assertThatThrownBy(() -> ZkAcls.parse("acl_node", "evil:x")).hasMessageContaining("unknown scheme");
        assertThatThrownBy(() -> new ZkAcls(new ZkPaths("/zgres"), List.of(NODE), List.of(), List.of(), false))
                .hasMessageContaining("acl_operator is empty");
    }
}
