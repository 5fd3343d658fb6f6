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
 * master: {@code /config} reaches Config Admin and the components (and back when deleted), but creates no plugin
 * instance and sets no local-only key; configurations made by hand are never touched, invalid values are rejected
 * while the last good one stays, and a plugin bundle (configured in the local file) updated, uninstalled
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
    void zookeeperTunesWhatTheLocalFileDefinesButCreatesNoPluginAndNamesNoFile() throws Exception {
        Path dir = Files.createTempDirectory(base, "apply-");
        // configured by hand in Config Admin (not from a file, not from ZooKeeper): never touched
        Configuration foreign = cm.getFactoryConfiguration("zgres.plugin.apply", "foreign", "?");
        Dictionary<String, Object> p = new Hashtable<>();
        p.put("path", dir.resolve("foreign.json").toString());
        foreign.update(p);
        // a plugin instance the local file defines
        localFile(Map.of("zgres.plugin.apply~tuned", Map.of("path", dir.resolve("tuned.json").toString())));
        await("the local file's apply~tuned", 20_000, () -> Files.exists(dir.resolve("tuned.json")));
        writeConfig("all", "zgres.plugin.apply~foreign", "{\"timeout_ms\": 1111}");
        writeConfig("all", "zgres.plugin.apply~tuned", "{\"timeout_ms\": 2222}");
        writeConfig("all", "zgres.plugin.apply~zk", "{\"timeout_ms\": 3333}");
        writeConfig("all", "zgres.nosuchbundle", "{\"anything\": 1}");
        await("ZooKeeper's timeout_ms on the local file's instance", 20_000, () -> {
            try {
                return Integer.valueOf(2222).equals(property("zgres.plugin.apply~tuned", "timeout_ms"))
                        && config("zgres.nosuchbundle") != null;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(property("zgres.plugin.apply~tuned", "zgres.config.source")).isEqualTo("local+zookeeper");
        assertThat(property("zgres.plugin.apply~tuned", "path")).isEqualTo(dir.resolve("tuned.json").toString());
        assertThat(config("zgres.plugin.apply~zk")).as("no plugin instance comes from ZooKeeper").isNull();
        assertThat(property("zgres.plugin.apply~foreign", "timeout_ms")).as("never touched").isNull();
        assertThat(property("zgres.nosuchbundle", "anything")).as("stored for a bundle installed later").isEqualTo(1);
        // a local-only key written behind the shell's back: refused, the last good configuration stays
        writeConfig("all", "zgres.plugin.apply~tuned", "{\"timeout_ms\": 2222, \"path\": \"" + dir.resolve(
                "elsewhere.json") + "\"}");
        writeConfig("all", "zgres.nosuchbundle", "{\"anything\": 2}");
        await("a later change applied (so the refused one was processed)", 20_000, () -> {
            try {
                return Integer.valueOf(2).equals(property("zgres.nosuchbundle", "anything"));
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(property("zgres.plugin.apply~tuned", "path")).isEqualTo(dir.resolve("tuned.json").toString());
        assertThat(Files.exists(dir.resolve("elsewhere.json"))).isFalse();
        assertThatThrownBy(() -> run("zgres:config set zgres.plugin.apply~tuned path=/etc/passwd"))
                .hasMessageContaining("refused, nothing written").hasMessageContaining("path is local-only");
        for (String pid : List.of("zgres.plugin.apply~foreign", "zgres.plugin.apply~tuned", "zgres.plugin.apply~zk",
                "zgres.nosuchbundle")) {
            zk.client().delete().forPath(path("all", pid));
        }
        await("ZooKeeper's values gone, the local file's stay", 20_000, () -> {
            try {
                return config("zgres.nosuchbundle") == null && property("zgres.plugin.apply~tuned", "timeout_ms")
                        == null && config("zgres.plugin.apply~tuned") != null;
            } catch (Exception e) {
                return false;
            }
        });
        localFile(Map.of());
        await("the local file's instance removed with it", 20_000, () -> {
            try {
                return config("zgres.plugin.apply~tuned") == null;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(config("zgres.plugin.apply~foreign")).as("never deleted: not ours").isNotNull();
        foreign.delete();
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
        writeConfig("all", "zgres.nosuchbundle.marker", "{\"anything\": 1}");
        await("a later valid change applied (so the invalid one was processed)", 20_000, () -> {
            try {
                return config("zgres.nosuchbundle.marker") != null;
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(property("zgres.sync", "debounce_ms")).as("the last good value").isEqualTo(15);
        writeConfig("all", "zgres.sync", "{not json");
        Thread.sleep(300);
        assertThat(property("zgres.sync", "debounce_ms")).as("malformed JSON loses nothing").isEqualTo(15);
        zk.client().delete().forPath(path("all", "zgres.sync"));
        zk.client().delete().forPath(path("all", "zgres.nosuchbundle.marker"));
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
        // each fake node is a session of its own (as a deadman is): its ephemeral /state and /conn, and its /lock
        Map<NodeId, org.apache.curator.framework.CuratorFramework> sessions = new java.util.HashMap<>();
        for (NodeId n : List.of(a, b)) {
            org.apache.curator.framework.CuratorFramework c = session();
            sessions.put(n, c);
            c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(zk.paths().state(n),
                    Znodes.encode(new zgres.api.NodeState(n, zgres.api.Role.REPLICA, zgres.api.NodePhase.STREAMING,
                            "", List.of(), 1, zgres.api.Lsn.ZERO, zgres.api.Lsn.ZERO, zgres.api.Lsn.ZERO, 0, "",
                            zgres.api.Tags.NONE, false, Map.of(), Map.of(), java.time.Instant.now())));
            c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(zk.paths().conn(n), Znodes
                    .encode(new ConnInfo(n.host(), n.port(), "postgres", "z")));
        }
        try {
            // the plugin instance comes from the local file (where its file is named); ZooKeeper could only tune it
            localFile(Map.of("zgres.plugin.apply~stream", Map.of("path", out.toString())));
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
                sessions.get(master).create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(lockPath,
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
        } finally {
            sessions.values().forEach(org.apache.curator.framework.CuratorFramework::close);
        }
        localFile(Map.of());
    }

    /** A ZooKeeper session of its own, with the operator's identity (a fake node). */
    org.apache.curator.framework.CuratorFramework session() throws Exception {
        String connect = "127.0.0.1:" + zkConfig.getProperties().get("embedded_port");
        byte[] auth = Files.readString(base.resolve("operator.credentials")).strip().getBytes(StandardCharsets.UTF_8);
        org.apache.curator.framework.CuratorFramework c = org.apache.curator.framework.CuratorFrameworkFactory
                .builder().connectString(connect).retryPolicy(new org.apache.curator.retry.RetryOneTime(100))
                .authorization("digest", auth).aclProvider(zk.acls()).build();
        c.start();
        assertThat(c.blockUntilConnected(10, TimeUnit.SECONDS)).isTrue();
        return c;
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

    @Test
    @Order(6)
    void cloneMethodBundlesAreRemovedInstalledAndUpdatedLiveAndTheMasterKeepsItsLock() throws Exception {
        Stat lock = lockStat();
        await("/state lists the installed clone method", 20_000, () -> {
            try {
                return stateJson().contains("\"clone_methods\":\"basebackup\"");
            } catch (Exception e) {
                return false;
            }
        });
        Bundle method = Arrays.stream(context.getBundles()).filter(x -> "zgres.clone.basebackup".equals(x
                .getSymbolicName())).findFirst().orElseThrow();
        byte[] original = withVersion(method, method.getVersion().toString());
        method.uninstall();
        await("the removed method is marked in /state", 20_000, () -> {
            try {
                return stateJson().contains("\"clone_methods\":\"basebackup(notinstalled)\"");
            } catch (Exception e) {
                return false;
            }
        });
        method = context.installBundle("zgres-live-basebackup", new ByteArrayInputStream(original));
        method.start();
        await("the installed method is back", 20_000, () -> {
            try {
                return stateJson().contains("\"clone_methods\":\"basebackup\"");
            } catch (Exception e) {
                return false;
            }
        });
        method.update(new ByteArrayInputStream(withVersion(method, "1.0.1.live")));
        await("the updated method is there", 20_000, () -> {
            try {
                return stateJson().contains("\"clone_methods\":\"basebackup\"") && stateJson().contains(
                        "\"zgres.clone.basebackup\":\"1.0.1.live\"");
            } catch (Exception e) {
                return false;
            }
        });
        Stat after = lockStat();
        assertThat(after.getCzxid()).as("the deadman kept its lock").isEqualTo(lock.getCzxid());
        assertThat(after.getEphemeralOwner()).as("and its session").isEqualTo(lock.getEphemeralOwner());
    }
}
