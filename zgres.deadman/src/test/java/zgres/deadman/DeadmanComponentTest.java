package zgres.deadman;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import zgres.api.SyncMode;

/** Local configuration and cluster settings merge into the deadman's settings; bad values are named. */
class DeadmanComponentTest {
    static Map<String, Object> local() {
        Map<String, Object> m = new HashMap<>();
        m.put("group", "g");
        m.put("port", 5432);
        m.put("data_dir", "/var/lib/zgres/g");
        m.put("maximum_lag_on_failover", 1000L);
        m.put("synchronous_mode", "off");
        m.put("pg_parameters", new String[] {"a = 1"});
        m.put("superuser_password", "pw");
        m.put("replication_password", "pw");
        return m;
    }

    @Test
    void withoutPasswordsNothingStarts() {
        Map<String, Object> m = local();
        m.remove("superuser_password");
        m.remove("replication_password");
        assertThatThrownBy(() -> DeadmanSettings.from(DeadmanComponent.config(m)))
                .hasMessageContaining("superuser_password is empty").hasMessageContaining("never runs PostgreSQL with "
                        + "trust").hasMessageContaining("replication_password is empty");
    }

    @Test
    void propertiesMapToTheConfigurationTypeWithUnderscoreNames() {
        DeadmanComponent.Config c = DeadmanComponent.config(local());
        assertThat(c.data__dir()).isEqualTo("/var/lib/zgres/g");
        assertThat(c.maximum__lag__on__failover()).isEqualTo(1000L);
        assertThat(c.pg__parameters()).containsExactly("a = 1");
        assertThat(c.session__timeout__ms()).as("defaults apply").isEqualTo(6000);
        Map<String, Object> fromJson = local();
        fromJson.put("port", "5432");
        fromJson.put("loop_wait_ms", 500L);
        assertThat(DeadmanComponent.config(fromJson).port()).isEqualTo(5432);
        assertThat(DeadmanComponent.config(fromJson).loop__wait__ms()).isEqualTo(500);
    }

    /**
     * The one precedence rule (README, "Live configuration"): a key of the node's own configuration wins, the cluster
     * settings fill in what it leaves unset, and identity never comes from the cluster. (Until 0.2 the cluster
     * settings won over the local file for the deadman only: every other PID let the local file win.)
     */
    @Test
    void clusterSettingsApplyWhereTheLocalConfigurationIsSilentAndNeverToIdentity() {
        DeadmanComponent d = new DeadmanComponent();
        ClusterSettings cs = new ClusterSettings();
        Map<String, Object> cluster = new HashMap<>();
        cluster.put("synchronous_mode", "on");
        cluster.put("maximum_lag_on_failover", 5L);
        cluster.put("priority", 7);
        cluster.put("data_dir", "/elsewhere");
        cs.configure(cluster);
        d.clusterBound(cs);
        Map<String, Object> local = local();
        local.remove("synchronous_mode");
        local.remove("maximum_lag_on_failover");
        local.put("priority", 3);
        d.modified(local);
        DeadmanSettings s = DeadmanSettings.from(DeadmanComponent.config(d.merged()));
        assertThat(s.policy().syncMode()).isEqualTo(SyncMode.ON);
        assertThat(s.policy().maximumLagOnFailover()).isEqualTo(5L);
        assertThat(s.tags().priority()).as("the local key wins").isEqualTo(3);
        assertThat(s.dataDir().toString()).as("identity never comes from the cluster").isEqualTo("/var/lib/zgres/g");
    }

    @Test
    void anInvalidClusterValueIsRejectedWithKeyAndValue() {
        Map<String, Object> m = local();
        m.put("synchronous_mode", "sometimes");
        assertThatThrownBy(() -> DeadmanSettings.from(DeadmanComponent.config(m)))
                .hasMessageContaining("synchronous_mode").hasMessageContaining("sometimes");
        Map<String, Object> n = local();
        n.put("loop_wait_ms", "fast");
        assertThatThrownBy(() -> DeadmanComponent.config(n)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("loop_wait_ms: 'fast' is not a valid int");
    }
}
