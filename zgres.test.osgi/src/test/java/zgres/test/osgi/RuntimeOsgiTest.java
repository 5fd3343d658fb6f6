package zgres.test.osgi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.CommandProcessor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;
import org.osgi.util.tracker.ServiceTracker;

import zgres.api.config.ConfigPolicy;
import zgres.zookeeper.Coordination;

/**
 * The zgres bundles resolve and start inside Felix with SCR and Config Admin: configured through Config Admin, the
 * coordination bundle starts an embedded ZooKeeper server, a deadman bootstraps a real PostgreSQL and registers it
 * as master, and {@code zgres:list} shows it through the Gogo command processor.
 */
@ExtendWith({BundleContextExtension.class, ServiceExtension.class})
class RuntimeOsgiTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService
    ConfigurationAdmin cm;

    @InjectService(timeout = 10_000)
    CommandProcessor gogo;

    @InjectService
    MetaTypeService metatype;

    static int freePort() throws Exception {
        return OsgiSupport.freePort();
    }

    String run(String command) throws Exception {
        return OsgiSupport.run(gogo, command);
    }

    @Test
    void zgresBundlesAreActiveAndDescribeTheirConfiguration() {
        for (String bsn : new String[] {"zgres.api", "zgres.zookeeper", "zgres.deadman"}) {
            Bundle b = Arrays.stream(context.getBundles()).filter(x -> bsn.equals(x.getSymbolicName())).findFirst()
                    .orElseThrow();
            assertThat(b.getState()).as(bsn).isEqualTo(Bundle.ACTIVE);
        }
        Bundle deadman = Arrays.stream(context.getBundles()).filter(x -> "zgres.deadman".equals(x.getSymbolicName()))
                .findFirst().orElseThrow();
        MetaTypeInformation info = metatype.getMetaTypeInformation(deadman);
        assertThat(info.getFactoryPids()).contains("zgres.deadman");
        ObjectClassDefinition ocd = info.getObjectClassDefinition("zgres.deadman", null);
        assertThat(Arrays.stream(ocd.getAttributeDefinitions(ObjectClassDefinition.ALL)).map(a -> a.getID()))
                .contains("group", "port", "data_dir", "session_timeout_ms", "maximum_lag_on_failover", "nofailover");
    }

    /**
     * Every key of every zgres configuration, as the bundles' metatypes declare it, is classified by the one rule of
     * what ZooKeeper may set (a new key cannot slip into /config unclassified), and the rule knows no key that does
     * not exist.
     */
    @Test
    void everyConfigurationKeyOfTheShippedBundlesIsClassifiedLocalOnlyOrNot() {
        java.util.Map<String, java.util.Set<String>> declared = new java.util.TreeMap<>();
        for (Bundle b : context.getBundles()) {
            if (b.getSymbolicName() == null || !b.getSymbolicName().startsWith("zgres.")) {
                continue;
            }
            MetaTypeInformation info = metatype.getMetaTypeInformation(b);
            if (info == null) {
                continue;
            }
            for (String pid : java.util.stream.Stream.concat(Arrays.stream(info.getPids()), Arrays.stream(info
                    .getFactoryPids())).toList()) {
                ObjectClassDefinition ocd = info.getObjectClassDefinition(pid, null);
                declared.put(pid, Arrays.stream(ocd.getAttributeDefinitions(ObjectClassDefinition.ALL)).map(
                        a -> a.getID()).collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new)));
            }
        }
        assertThat(declared).containsKeys("zgres.deadman", "zgres.zookeeper", "zgres.plugin.apply", "zgres.sync");
        declared.forEach((pid, keys) -> {
            if (ConfigPolicy.localOnlyPid(pid, true).isPresent()) {
                return; // wholly local-only
            }
            assertThat(ConfigPolicy.KNOWN).as("the rule knows " + pid).containsKey(pid);
            assertThat(ConfigPolicy.KNOWN.get(pid).keySet()).as(pid).containsExactlyInAnyOrderElementsOf(keys);
        });
    }

    @Test
    void aDeadmanConfiguredThroughConfigAdminBootstrapsAMasterVisibleInTheShell() throws Exception {
        Path base = Files.createTempDirectory("zgres-osgi-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        Configuration zk = cm.getConfiguration("zgres.zookeeper", "?");
        zk.update(OsgiSupport.zookeeper(base, freePort()));
        ServiceTracker<Coordination, Coordination> t = new ServiceTracker<>(context, Coordination.class, null);
        t.open();
        Coordination coordination = t.waitForService(30_000);
        assertThat(coordination).as("the coordination service started").isNotNull();
        int port = freePort();
        Configuration d = cm.getFactoryConfiguration("zgres.deadman", "osgi", "?");
        Dictionary<String, Object> p = new Hashtable<>();
        p.put("group", "osgi");
        p.put("port", port);
        p.put("data_dir", base.resolve("n1").toString());
        p.put("superuser_password", "osgi-pw");
        p.put("replication_password", "osgi-pw");
        p.put("session_timeout_ms", 3000);
        p.put("pg_parameters", new String[] {"shared_buffers = '16MB'", "max_connections = 20"});
        d.update(p);
        try {
            String list = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline) {
                list = run("zgres:list osgi");
                if (list.contains("master") && list.contains("running")) {
                    break;
                }
                Thread.sleep(500);
            }
            assertThat(list).contains("Group: osgi").contains("127.0.0.1:" + port).contains("master")
                    .contains("running");
            assertThat(run("zgres:list --json osgi")).contains("\"role\":\"master\"").contains("\"lock\":true");
            assertThat(coordination.client().checkExists().forPath(coordination.paths().lock("osgi"))).isNotNull();
        } finally {
            d.delete();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && coordination.client().checkExists()
                    .forPath(coordination.paths().lock("osgi")) != null) {
                Thread.sleep(200);
            }
            assertThat(coordination.client().checkExists().forPath(coordination.paths().lock("osgi")))
                    .as("deleting the configuration stops the deadman, which releases the lock").isNull();
            zk.delete();
            t.close();
        }
    }
}
