package zgres.test.osgi;


import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import zgres.api.NodeId;
import zgres.zookeeper.Coordination;

/**
 * The fixture of the live-reconfiguration tests: inside the runtime's OSGi framework, an embedded ZooKeeper and one
 * deadman that bootstraps a real PostgreSQL master, and what the tests use to change and watch them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class LiveRuntime {
    static final String GROUP = "live";
    BundleContext context;
    ConfigurationAdmin cm;
    CommandProcessor gogo;
    Coordination zk;
    Path base;
    int port;
    Configuration zkConfig;
    Configuration deadman;
    ServiceTracker<Coordination, Coordination> tracker;

    static int freePort() throws Exception {
        return OsgiSupport.freePort();
    }

    static void await(String what, long timeoutMs, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    <T> T service(Class<T> type) throws InterruptedException {
        return OsgiSupport.service(context, type);
    }

    String run(String command) throws Exception {
        return OsgiSupport.run(gogo, command);
    }

    NodeId me() {
        return new NodeId(GROUP, "127.0.0.1", port);
    }

    String path(String scope, String pid) {
        return zk.paths().configDir() + "/" + scope + "/" + pid;
    }

    void writeConfig(String scope, String pid, String json) throws Exception {
        String p = path(scope, pid);
        byte[] data = json.getBytes(StandardCharsets.UTF_8);
        if (zk.client().checkExists().forPath(p) == null) {
            zk.client().create().creatingParentsIfNeeded().forPath(p, data);
        } else {
            zk.client().setData().forPath(p, data);
        }
    }

    Configuration config(String pid) throws Exception {
        Configuration[] c = cm.listConfigurations("(service.pid=" + pid + ")");
        return c == null ? null : c[0];
    }

    Object property(String pid, String key) throws Exception {
        Configuration c = config(pid);
        return c == null || c.getProperties() == null ? null : c.getProperties().get(key);
    }

    @BeforeAll
    void start() throws Exception {
        context = FrameworkUtil.getBundle(LiveRuntime.class).getBundleContext();
        cm = service(ConfigurationAdmin.class);
        gogo = service(CommandProcessor.class);
        base = Files.createTempDirectory("zgres-live-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        zkConfig = cm.getConfiguration("zgres.zookeeper", "?");
        zkConfig.update(OsgiSupport.zookeeper(base, freePort()));
        tracker = new ServiceTracker<>(context, Coordination.class, null);
        tracker.open();
        zk = tracker.waitForService(30_000);
        port = freePort();
        deadman = cm.getFactoryConfiguration("zgres.deadman", "live", "?");
        Dictionary<String, Object> p = new Hashtable<>();
        p.put("group", GROUP);
        p.put("port", port);
        p.put("data_dir", base.resolve("n1").toString());
        p.put("superuser_password", "live-pw");
        p.put("replication_password", "live-pw");
        p.put("session_timeout_ms", 4000);
        p.put("state_interval_ms", 200);
        p.put("pg_parameters", new String[] {"shared_buffers = '16MB'", "max_connections = 20"});
        deadman.update(p);
        await("the deadman to bootstrap a master", 120_000, () -> {
            try {
                return zk.client().checkExists().forPath(zk.paths().conn(me())) != null
                        && zk.client().checkExists().forPath(zk.paths().lock(GROUP)) != null;
            } catch (Exception e) {
                return false;
            }
        });
    }

    @AfterAll
    void stop() throws Exception {
        if (deadman != null) {
            deadman.delete();
            await("the deadman to stop", 60_000, () -> {
                try {
                    return zk.client().checkExists().forPath(zk.paths().lock(GROUP)) == null;
                } catch (Exception e) {
                    return false;
                }
            });
        }
        for (String pid : List.of("zgres.plugin.apply~stream", "zgres.plugin.apply~zk", "zgres.plugin.apply~local",
                "zgres.sync", "zgres.deadman.cluster")) {
            Configuration c = config(pid);
            if (c != null) {
                c.delete();
            }
        }
        localFile(Map.of());
        if (zkConfig != null) {
            zkConfig.delete();
        }
        if (tracker != null) {
            tracker.close();
        }
    }

    /**
     * Rewrites the runtime's local configuration file (framework property {@code zgres.config.file}) with these PIDs
     * and their string properties; the runtime applies an edit within a second.
     */
    void localFile(Map<String, Map<String, String>> pids) throws IOException {
        Path f = Path.of(context.getProperty("zgres.config.file"));
        StringBuilder sb = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, Map<String, String>> e : pids.entrySet()) {
            sb.append(i++ > 0 ? ",\n" : "").append("  \"").append(e.getKey()).append("\": {");
            int j = 0;
            for (Map.Entry<String, String> kv : e.getValue().entrySet()) {
                sb.append(j++ > 0 ? ", " : "").append('"').append(kv.getKey()).append("\": \"")
                        .append(kv.getValue().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
            sb.append('}');
        }
        sb.append("\n}\n");
        Files.createDirectories(f.getParent());
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        Files.writeString(tmp, sb.toString());
        Files.move(tmp, f, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption
                .REPLACE_EXISTING);
    }

    Stat lockStat() throws Exception {
        return zk.client().checkExists().forPath(zk.paths().lock(GROUP));
    }

    boolean stateTag(String field, String value) {
        try {
            String s = new String(zk.client().getData().forPath(zk.paths().state(me())), StandardCharsets.UTF_8);
            return s.replace(" ", "").contains("\"" + field + "\":" + value);
        } catch (Exception e) {
            return false;
        }
    }

    /** The apply bundle as a new version: its own entries with Bundle-Version replaced. */
    static byte[] withVersion(Bundle b, String version) throws IOException {
        Manifest m;
        try (InputStream in = b.getEntry("META-INF/MANIFEST.MF").openStream()) {
            m = new Manifest(in);
        }
        m.getMainAttributes().put(new Attributes.Name("Bundle-Version"), version);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes, m)) {
            Enumeration<URL> e = b.findEntries("/", "*", true);
            for (URL u : e == null ? List.<URL>of() : Collections.list(e)) {
                String name = u.getPath().substring(1);
                if (name.isEmpty() || name.endsWith("/") || name.equals("META-INF/MANIFEST.MF")) {
                    continue;
                }
                jar.putNextEntry(new JarEntry(name));
                try (InputStream in = u.openStream()) {
                    in.transferTo(jar);
                }
                jar.closeEntry();
            }
        }
        return bytes.toByteArray();
    }
}
