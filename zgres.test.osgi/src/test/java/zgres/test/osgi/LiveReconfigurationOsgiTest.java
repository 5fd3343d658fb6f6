package zgres.test.osgi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;

import zgres.api.ConnInfo;
import zgres.api.deadman.HealthVeto;
import zgres.api.deadman.MetadataProvider;
import zgres.api.NodeId;
import zgres.zookeeper.Znodes;

/**
 * Live reconfiguration inside the runtime's OSGi framework, with a real embedded ZooKeeper and a real PostgreSQL
 * master: {@code /config} reaches Config Admin and the components (and back when deleted), local configurations are
 * never touched, invalid values are rejected while the last good one stays, and a plugin bundle updated, uninstalled
 * and installed again during 50 master changes sees every final state while the deadman keeps its ZooKeeper session
 * and its lock and the sync daemon is never restarted.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith({org.osgi.test.junit5.context.BundleContextExtension.class})
class LiveReconfigurationOsgiTest extends LiveRuntime {
    @Test
    @Order(1)
    void aClusterSettingInZooKeeperReachesTheDeadmanLiveAndADeleteRestoresTheLocalValue() throws Exception {
        Stat lock = lockStat();
        long session = zk.client().checkExists().forPath(zk.paths().state(me())).getEphemeralOwner();
        List<Long> delays = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            long t0 = System.nanoTime();
            String out = run("zgres:config set " + GROUP + " zgres.deadman.cluster priority=" + i);
            assertThat(out).contains("wrote " + path(GROUP, "zgres.deadman.cluster"));
            int want = i;
            await("priority " + i + " in the node's /state", 20_000, () -> stateTag("priority", Integer.toString(
                    want)));
            delays.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
        System.out.println("{\"test\":\"config_to_state_ms\",\"samples\":" + delays + "}");
        assertThat(property("zgres.deadman.cluster", "zgres.config.source")).isEqualTo("zookeeper");
        run("zgres:config delete " + GROUP + " zgres.deadman.cluster");
        await("the configuration deleted from Config Admin", 20_000, () -> {
            try {
                return config("zgres.deadman.cluster") == null;
            } catch (Exception e) {
                return false;
            }
        });
        await("the local priority (0) back in /state", 20_000, () -> stateTag("priority", "0"));
        Stat after = lockStat();
        assertThat(after.getCzxid()).as("the same lock znode").isEqualTo(lock.getCzxid());
        assertThat(after.getEphemeralOwner()).as("the same ZooKeeper session").isEqualTo(lock.getEphemeralOwner())
                .isEqualTo(session);
    }

    @Test
    @Order(2)
    void localConfigurationsAreNeverTouchedAndConfigurationsOfMissingBundlesAreStoredUnused() throws Exception {
        Path dir = Files.createTempDirectory(base, "apply-");
        Configuration local = cm.getFactoryConfiguration("zgres.plugin.apply", "local", "?");
        Dictionary<String, Object> p = new Hashtable<>();
        p.put("path", dir.resolve("local.json").toString());
        local.update(p);
        writeConfig("all", "zgres.plugin.apply~local", "{\"path\": \"" + dir.resolve("from-zk.json") + "\"}");
        writeConfig("all", "zgres.plugin.apply~zk", "{\"path\": \"" + dir.resolve("zk.json") + "\"}");
        writeConfig("all", "zgres.nosuchbundle", "{\"anything\": 1}");
        await("the bridge created zgres.plugin.apply~zk", 20_000, () -> {
            try {
                return config("zgres.plugin.apply~zk") != null && config("zgres.nosuchbundle") != null;
            } catch (Exception e) {
                return false;
            }
        });
        await("the apply plugin configured from ZooKeeper wrote its file", 20_000, () -> Files.exists(dir.resolve(
                "zk.json")));
        Thread.sleep(500);
        assertThat(property("zgres.plugin.apply~local", "path")).as("the local configuration wins").isEqualTo(
                dir.resolve("local.json").toString());
        assertThat(property("zgres.plugin.apply~local", "zgres.config.source")).isNull();
        assertThat(Files.exists(dir.resolve("from-zk.json"))).isFalse();
        assertThat(property("zgres.nosuchbundle", "anything")).as("stored for a bundle installed later").isEqualTo(1);
        zk.client().delete().forPath(path("all", "zgres.plugin.apply~local"));
        zk.client().delete().forPath(path("all", "zgres.plugin.apply~zk"));
        zk.client().delete().forPath(path("all", "zgres.nosuchbundle"));
        await("owned configurations deleted", 20_000, () -> {
            try {
                return config("zgres.plugin.apply~zk") == null && config("zgres.nosuchbundle") == null;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(config("zgres.plugin.apply~local")).as("never deleted: not ours").isNotNull();
        local.delete();
    }

    @Test
    @Order(3)
    void anInvalidValueIsRejectedWithKeyValueAndReasonAndTheLastGoodConfigurationStays() throws Exception {
        assertThat(run("zgres:config set zgres.sync debounce_ms=15")).contains("wrote");
        await("debounce_ms 15 in Config Admin", 20_000, () -> {
            try {
                return Integer.valueOf(15).equals(property("zgres.sync", "debounce_ms"));
            } catch (Exception e) {
                return false;
            }
        });
        assertThatThrownBy(() -> run("zgres:config set zgres.sync debounce_ms=-5")).hasMessageContaining(
                "debounce_ms").hasMessageContaining("-5").hasMessageContaining("nothing written");
        assertThatThrownBy(() -> run("zgres:config set zgres.sync debounce=5")).hasMessageContaining(
                "debounce is not a key");
        // written behind the shell's back: the bridge rejects it and Config Admin keeps the last good value
        writeConfig("all", "zgres.sync", "{\"debounce_ms\": -5}");
        writeConfig("all", "zgres.plugin.apply~marker", "{\"path\": \"" + base.resolve("marker.json") + "\"}");
        await("a later valid change applied (so the invalid one was processed)", 20_000, () -> {
            try {
                return config("zgres.plugin.apply~marker") != null;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(property("zgres.sync", "debounce_ms")).as("the last good value").isEqualTo(15);
        writeConfig("all", "zgres.sync", "{not json");
        Thread.sleep(300);
        assertThat(property("zgres.sync", "debounce_ms")).as("malformed JSON loses nothing").isEqualTo(15);
        zk.client().delete().forPath(path("all", "zgres.sync"));
        zk.client().delete().forPath(path("all", "zgres.plugin.apply~marker"));
        await("zgres.sync deleted", 20_000, () -> {
            try {
                return config("zgres.sync") == null;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(run("zgres:config list")).doesNotContain("zgres.sync");
    }

    @Test
    @Order(4)
    void aPluginBundleUpdatedDuringFiftyMasterChangesSeesEveryFinalStateAndNothingRestarts() throws Exception {
        Path out = base.resolve("stream.json");
        NodeId a = NodeId.parse("fake_10.9.9.1:5432");
        NodeId b = NodeId.parse("fake_10.9.9.2:5432");
        for (NodeId n : List.of(a, b)) {
            zk.client().create().orSetData().creatingParentsIfNeeded().forPath(zk.paths().conn(n), Znodes
                    .encode(new ConnInfo(n.host(), n.port(), "postgres", "z")));
        }
        run("zgres:config set zgres.plugin.apply~stream path=" + out);
        await("the apply plugin writes its file", 20_000, () -> Files.exists(out));
        Bundle apply = Arrays.stream(context.getBundles()).filter(x -> "zgres.plugin.apply".equals(x
                .getSymbolicName())).findFirst().orElseThrow();
        String oldVersion = apply.getVersion().toString();
        ServiceReference<?> sync = context.getServiceReferences("zgres.api.sync.SyncStatus", null)[0];
        Object syncId = sync.getProperty("service.id");
        Stat lock = lockStat();
        byte[] original = withVersion(apply, oldVersion);
        List<Long> firstSnapshot = new ArrayList<>();
        String lockPath = zk.paths().lock("fake");
        for (int i = 0; i < 50; i++) {
            NodeId master = i % 2 == 0 ? a : b;
            if (zk.client().checkExists().forPath(lockPath) != null) {
                zk.client().delete().forPath(lockPath);
            }
            zk.client().create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT).forPath(lockPath,
                    Znodes.encodeLock(master));
            long t0 = System.nanoTime();
            if (i == 20) {
                apply.update(new ByteArrayInputStream(withVersion(apply, "1.0.1.live")));
            } else if (i == 35) {
                apply.uninstall();
                apply = context.installBundle("zgres-live-apply", new ByteArrayInputStream(original));
                apply.start();
            }
            String want = "\"fake\":\"" + master + "\"";
            await("change " + i + ": the plugin shows master " + master, 20_000, () -> {
                try {
                    return Files.readString(out).replaceAll("\\s", "").contains(want); // (indented JSON)
                } catch (IOException e) {
                    return false;
                }
            });
            if (i == 20 || i == 35) {
                firstSnapshot.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            }
        }
        System.out.println("{\"test\":\"bundle_swap_to_first_snapshot_ms\",\"samples\":" + firstSnapshot + "}");
        assertThat(apply.getState()).isEqualTo(Bundle.ACTIVE);
        ServiceReference<?> syncAfter = context.getServiceReferences("zgres.api.sync.SyncStatus", null)[0];
        assertThat(syncAfter.getProperty("service.id")).as("the sync daemon was never restarted").isEqualTo(syncId);
        Stat after = lockStat();
        assertThat(after.getCzxid()).as("the deadman kept its lock").isEqualTo(lock.getCzxid());
        assertThat(after.getEphemeralOwner()).as("and its session").isEqualTo(lock.getEphemeralOwner());
        assertThat(run("zgres:plugins " + GROUP)).contains("zgres.plugin.apply").contains("127.0.0.1:" + port);
        zk.client().delete().forPath(lockPath);
        run("zgres:config delete zgres.plugin.apply~stream");
    }

    String stateJson() throws Exception {
        byte[] b = zk.client().getData().forPath(zk.paths().state(me()));
        return new String(b, StandardCharsets.UTF_8).replaceAll("\\s", "");
    }

    boolean connPublished() throws Exception {
        return zk.client().checkExists().forPath(zk.paths().conn(me())) != null;
    }

    @Test
    @Order(5)
    void deadmanPluginsComingAndGoingLiveReachStateAndTheMasterKeepsItsLockAndSession() throws Exception {
        Stat lock = lockStat();
        ServiceRegistration<MetadataProvider> md = context.registerService(MetadataProvider.class,
                node -> Map.of("rack", "r7"), null);
        await("/state carries the new provider's metadata", 20_000, () -> {
            try {
                return stateJson().contains("\"rack\":\"r7\"");
            } catch (Exception e) {
                return false;
            }
        });
        ServiceRegistration<HealthVeto> veto = context.registerService(HealthVeto.class,
                node -> Optional.of("maintenance window"), null);
        await("the new veto is in /state and /conn is withdrawn", 20_000, () -> {
            try {
                return stateJson().contains("maintenancewindow") && !connPublished();
            } catch (Exception e) {
                return false;
            }
        });
        veto.unregister();
        await("the veto gone: healthy again, /conn back", 20_000, () -> {
            try {
                return !stateJson().contains("maintenancewindow") && connPublished();
            } catch (Exception e) {
                return false;
            }
        });
        md.unregister();
        await("the provider gone: its metadata leaves /state", 20_000, () -> {
            try {
                return !stateJson().contains("r7");
            } catch (Exception e) {
                return false;
            }
        });
        Stat after = lockStat();
        assertThat(after.getCzxid()).as("the deadman kept its lock").isEqualTo(lock.getCzxid());
        assertThat(after.getEphemeralOwner()).as("and its session").isEqualTo(lock.getEphemeralOwner());
    }
}
