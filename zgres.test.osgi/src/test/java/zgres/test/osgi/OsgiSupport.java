package zgres.test.osgi;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.BundleContext;
import org.osgi.util.tracker.ServiceTracker;

/** What the OSGi tests share: a free port, a service, a Gogo command run as the console would. */
final class OsgiSupport {
    private OsgiSupport() {}

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static <T> T service(BundleContext context, Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> t = new ServiceTracker<>(context, type, null);
        t.open();
        T s = t.waitForService(30_000);
        assertThat(s).as(type.getName()).isNotNull();
        return s;
    }

    /** @return what the command returned, formatted as the console prints it (or what it printed) */
    static String run(CommandProcessor gogo, String command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (CommandSession s = gogo.createSession(new ByteArrayInputStream(new byte[0]), new PrintStream(out),
                new PrintStream(out))) {
            Object r = s.execute(command);
            return r == null ? out.toString() : s.format(r, 0).toString();
        }
    }

    /**
     * The {@code zgres.zookeeper} configuration of a test runtime: an embedded server that, like every zgres
     * ZooKeeper, serves only authenticated clients, and this runtime's identity (an operator: its shell writes
     * /config) in a credentials file of mode 600.
     */
    static java.util.Dictionary<String, Object> zookeeper(java.nio.file.Path base, int port) throws IOException {
        String user = "zgres-operator";
        String password = java.util.HexFormat.of().formatHex(java.security.SecureRandom.getSeed(16));
        java.nio.file.Path cred = base.resolve("operator.credentials");
        java.nio.file.Files.createFile(cred, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        java.nio.file.Files.writeString(cred, user + ":" + password + "\n");
        java.util.Dictionary<String, Object> z = new java.util.Hashtable<>();
        z.put("embedded_port", port);
        z.put("embedded_data_dir", base.resolve("zookeeper").toString());
        z.put("credentials_file", cred.toString());
        z.put("acl_operator", new String[] {zgres.zookeeper.ZkAcls.digestId(user + ":" + password)});
        return z;
    }
}
