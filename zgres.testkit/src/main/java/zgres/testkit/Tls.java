package zgres.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.client.ZKClientConfig;

/**
 * Keys and certificates for ZooKeeper over TLS, made with the JDK's keytool: one key pair per party (the ZooKeeper
 * server, nodes, operators, and an intruder nobody trusts), and one truststore with every certificate but the
 * intruder's (the intruder's own truststore trusts the server, so that it is the server that refuses it). Every
 * certificate names 127.0.0.1, for hostname verification both ways.
 */
public final class Tls {
    public static final List<String> PARTIES = List.of("zookeeper", "node", "operator", "intruder");

    private final Path dir;
    private final String password;

    private Tls(Path dir, String password) {
        this.dir = dir;
        this.password = password;
    }

    /** Makes the key pairs and the truststores in {@code dir} (readable by every test process). */
    public static Tls create(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        byte[] b = new byte[12];
        new SecureRandom().nextBytes(b);
        Tls t = new Tls(dir, HexFormat.of().formatHex(b));
        for (String party : PARTIES) {
            t.keytool("-genkeypair", "-alias", party, "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                    "CN=zgres-" + party, "-ext", "SAN=IP:127.0.0.1,DNS:localhost", "-validity", "3", "-storetype",
                    "PKCS12", "-keystore", t.keystore(party).toString(), "-storepass", t.password, "-keypass",
                    t.password);
            t.keytool("-exportcert", "-alias", party, "-keystore", t.keystore(party).toString(), "-storepass",
                    t.password, "-rfc", "-file", dir.resolve(party + ".crt").toString());
        }
        for (String party : List.of("zookeeper", "node", "operator")) {
            t.keytool("-importcert", "-noprompt", "-alias", party, "-file", dir.resolve(party + ".crt").toString(),
                    "-keystore", t.truststore().toString(), "-storetype", "PKCS12", "-storepass", t.password);
        }
        t.keytool("-importcert", "-noprompt", "-alias", "zookeeper", "-file", dir.resolve("zookeeper.crt").toString(),
                "-keystore", dir.resolve("intruder-trust.p12").toString(), "-storetype", "PKCS12", "-storepass",
                t.password);
        for (String party : PARTIES) {
            Files.setPosixFilePermissions(t.keystore(party), PosixFilePermissions.fromString("rw-r--r--"));
        }
        Files.setPosixFilePermissions(t.truststore(), PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(dir.resolve("intruder-trust.p12"), PosixFilePermissions.fromString("rw-r--r--"));
        return t;
    }

    private void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool " + args[0] + " failed: " + out);
        }
    }

    public Path keystore(String party) {
        return dir.resolve(party + ".p12");
    }

    public Path truststore() {
        return dir.resolve("trust.p12");
    }

    /** The password of every store, in a file of mode 600 owned by {@code owner} (what a runtime reads). */
    public Path passwordFile(String owner) throws IOException {
        Path f = dir.resolve("password-" + owner);
        if (!Files.exists(f)) {
            Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(f, password);
            OsUser.own(f, owner);
        }
        return f;
    }

    /** The {@code zgres.zookeeper} TLS keys of a runtime that is {@code party} and runs as {@code owner}. */
    public Map<String, Object> runtimeConfig(String party, String owner) throws IOException {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("tls", true);
        c.put("tls_keystore", keystore(party).toString());
        c.put("tls_keystore_password_file", passwordFile(owner).toString());
        c.put("tls_truststore", truststore().toString());
        c.put("tls_truststore_password_file", passwordFile(owner).toString());
        return c;
    }

    /** The server's TLS settings as ZooKeeper's configuration keys. */
    public Map<String, String> serverProperties() throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory");
        p.put("ssl.keyStore.location", keystore("zookeeper").toString());
        p.put("ssl.keyStore.passwordPath", passwordFile(OsUser.current()).toString());
        p.put("ssl.trustStore.location", truststore().toString());
        p.put("ssl.trustStore.passwordPath", passwordFile(OsUser.current()).toString());
        p.put("ssl.clientAuth", "need");
        return p;
    }

    /** A client configuration of this JVM that speaks TLS as {@code party}. */
    public ZKClientConfig clientConfig(String party) throws IOException {
        ZKClientConfig z = new ZKClientConfig();
        z.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        z.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        z.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
        z.setProperty("zookeeper.ssl.keyStore.location", keystore(party).toString());
        z.setProperty("zookeeper.ssl.keyStore.password", password);
        z.setProperty("zookeeper.ssl.trustStore.location", party.equals("intruder") ? dir.resolve(
                "intruder-trust.p12").toString() : truststore().toString());
        z.setProperty("zookeeper.ssl.trustStore.password", password);
        return z;
    }
}
