package zgres.zookeeper.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.zookeeper.client.ZKClientConfig;

import zgres.zookeeper.ZkAcls;
import zgres.zookeeper.ZkPaths;

/**
 * How every client of this runtime authenticates to ZooKeeper, what ACL its znodes get, and whether it speaks TLS:
 * all read from the local {@code zgres.zookeeper} configuration (never from ZooKeeper). Secrets come from files only
 * this user may read ({@link SecretFile}); ZooKeeper reads the keystore passwords from their files itself.
 */
final class ClientSecurity {
    enum Auth {
        digest, sasl, x509, none
    }

    private final Auth auth;
    private final SecretFile.Digest digest;
    private final ZkAcls acls;
    private final String role;
    private final Tls tls;
    private final String saslSection;

    /** TLS settings, shared by the client and the embedded server. */
    record Tls(Path keystore, Path keystorePasswordFile, Path truststore, Path truststorePasswordFile,
            boolean hostnameVerification) {
        String type(Path store) {
            String n = store.getFileName().toString().toLowerCase();
            return n.endsWith(".jks") ? "JKS" : n.endsWith(".pem") ? "PEM" : "PKCS12";
        }
    }

    ClientSecurity(ZooKeeperComponent.Config c, ZkPaths paths) throws IOException {
        this.auth = Auth.valueOf(c.auth());
        this.tls = c.tls() ? tls(c) : null;
        if (auth == Auth.x509 && tls == null) {
            throw new IllegalArgumentException("auth = x509 needs tls = true (the identity is the TLS client "
                    + "certificate)");
        }
        this.digest = auth == Auth.digest ? SecretFile.digest("credentials_file", c.credentials__file()) : null;
        this.saslSection = c.sasl__section();
        if (auth == Auth.sasl && !c.sasl__jaas__file().isBlank()) {
            Path jaas = SecretFile.check("sasl_jaas_file", c.sasl__jaas__file());
            System.setProperty("java.security.auth.login.config", jaas.toString());
        }
        if (auth == Auth.none) {
            this.acls = ZkAcls.open(paths);
            this.role = "everyone";
        } else {
            Map<String, List<String>> ids = AclFile.read(c.acl__file());
            this.acls = new ZkAcls(paths, join(c.acl__node(), ids.get("node")), join(c.acl__operator(), ids.get(
                    "operator")), join(c.acl__sync(), ids.get("sync")), c.acl__world__read());
            if (digest != null) {
                String r = acls.roleOf(digest.id());
                if (r == null) {
                    throw new IllegalArgumentException("credentials_file: the identity " + digest.id() + " is in "
                            + "none of acl_node, acl_operator, acl_sync: it could not use the znodes it creates");
                }
                this.role = r;
            } else {
                this.role = "as configured in acl_*";
            }
        }
    }

    private static List<String> join(String[] inline, List<String> fromFile) {
        List<String> all = new ArrayList<>(List.of(inline));
        all.addAll(fromFile);
        return all;
    }

    private static Tls tls(ZooKeeperComponent.Config c) throws IOException {
        return new Tls(store("tls_keystore", c.tls__keystore()), SecretFile.check("tls_keystore_password_file",
                c.tls__keystore__password__file()), store("tls_truststore", c.tls__truststore()),
                SecretFile.check("tls_truststore_password_file", c.tls__truststore__password__file()),
                c.tls__hostname__verification());
    }

    private static Path store(String key, String file) {
        if (file.isBlank()) {
            throw new IllegalArgumentException(key + " is required when tls = true");
        }
        Path p = Path.of(file);
        if (!p.isAbsolute() || !Files.isRegularFile(p)) {
            throw new IllegalArgumentException(key + ": " + file + " is not an absolute path to a readable file");
        }
        return p;
    }

    Auth auth() {
        return auth;
    }

    ZkAcls acls() {
        return acls;
    }

    Tls tls() {
        return tls;
    }

    /** Sets authentication, ACLs and TLS on a client about to be built. */
    CuratorFrameworkFactory.Builder apply(CuratorFrameworkFactory.Builder b) {
        b.aclProvider(acls);
        if (digest != null) {
            b.authorization("digest", digest.auth());
        }
        return b.zkClientConfig(clientConfig());
    }

    private ZKClientConfig clientConfig() {
        ZKClientConfig z = new ZKClientConfig();
        z.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, Boolean.toString(auth == Auth.sasl));
        if (auth == Auth.sasl) {
            z.setProperty(ZKClientConfig.LOGIN_CONTEXT_NAME_KEY, saslSection);
        }
        if (tls != null) {
            z.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
            z.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
            tlsProperties("zookeeper.").forEach((k, v) -> z.setProperty((String) k, (String) v));
        }
        return z;
    }

    /** The TLS keys as ZooKeeper names them, with {@code prefix} ({@code zookeeper.} for clients, none for servers). */
    Properties tlsProperties(String prefix) {
        Properties p = new Properties();
        p.setProperty(prefix + "ssl.keyStore.location", tls.keystore().toString());
        p.setProperty(prefix + "ssl.keyStore.passwordPath", tls.keystorePasswordFile().toString());
        p.setProperty(prefix + "ssl.keyStore.type", tls.type(tls.keystore()));
        p.setProperty(prefix + "ssl.trustStore.location", tls.truststore().toString());
        p.setProperty(prefix + "ssl.trustStore.passwordPath", tls.truststorePasswordFile().toString());
        p.setProperty(prefix + "ssl.trustStore.type", tls.type(tls.truststore()));
        p.setProperty(prefix + "ssl.hostnameVerification", Boolean.toString(tls.hostnameVerification()));
        return p;
    }

    /** For the log: how this runtime authenticates (never a secret). */
    String describe() {
        String who = switch (auth) {
            case digest -> "digest as " + digest.user() + " (role " + role + ")";
            case sasl -> "SASL (JAAS section " + saslSection + ")";
            case x509 -> "x509 client certificate";
            case none -> "NO authentication: every znode is open to anyone who reaches ZooKeeper";
        };
        return who + (tls != null ? ", TLS" : ", plaintext");
    }

    static List<String> options() {
        return Arrays.stream(Auth.values()).map(Enum::name).toList();
    }
}
