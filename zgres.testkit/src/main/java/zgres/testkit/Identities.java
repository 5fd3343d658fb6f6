package zgres.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.client.ZKClientConfig;

import zgres.zookeeper.ZkAcls;
import zgres.zookeeper.ZkPaths;

/**
 * The ZooKeeper identities of a test group, one per role, with fresh random passwords: what {@code ./zgres
 * credentials} makes for an operator. Runtime processes get a credentials file owned by the user they run as (mode
 * 600) and the shared {@code acl.properties}; clients in this JVM authenticate with the bytes directly.
 */
public final class Identities {
    public enum Role {
        NODE, OPERATOR, SYNC;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Map<Role, String> passwords = new EnumMap<>(Role.class);

    public Identities() {
        SecureRandom r = new SecureRandom();
        for (Role role : Role.values()) {
            byte[] b = new byte[18];
            r.nextBytes(b);
            passwords.put(role, HexFormat.of().formatHex(b));
        }
    }

    public String user(Role r) {
        return "zgres-" + r.key();
    }

    /** @return {@code user:password}, what Curator's digest authorization takes */
    public byte[] auth(Role r) {
        return (user(r) + ":" + passwords.get(r)).getBytes(StandardCharsets.UTF_8);
    }

    /** @return the role's ZooKeeper id ({@code digest:user:hash}) */
    public String id(Role r) {
        return ZkAcls.digestId(user(r) + ":" + passwords.get(r));
    }

    public ZkAcls acls(ZkPaths paths) {
        return new ZkAcls(paths, List.of(id(Role.NODE)), List.of(id(Role.OPERATOR)), List.of(id(Role.SYNC)), false);
    }

    /** A client of this JVM with {@code role}'s identity and the zgres ACLs (not started). */
    public CuratorFramework client(Role role, String connect, ZkPaths paths) {
        return client(role, connect, paths, null);
    }

    /** The same, speaking TLS with {@code tls} when given. */
    public CuratorFramework client(Role role, String connect, ZkPaths paths, ZKClientConfig tls) {
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder().connectString(connect)
                .sessionTimeoutMs(10_000).connectionTimeoutMs(5000).retryPolicy(new ExponentialBackoffRetry(50, 5,
                        500)).authorization("digest", auth(role)).aclProvider(acls(paths)).ensembleTracker(false);
        if (tls != null) {
            b.zkClientConfig(tls);
        }
        return b.build();
    }

    /** A client without identity (an ensemble without authentication). */
    public static CuratorFramework openClient(String connect) {
        return CuratorFrameworkFactory.builder().connectString(connect).sessionTimeoutMs(10_000)
                .connectionTimeoutMs(5000).retryPolicy(new ExponentialBackoffRetry(50, 5, 500)).ensembleTracker(false)
                .build();
    }

    /**
     * Writes {@code role}'s credentials for a runtime that runs as {@code owner}: {@code dir/<role>-<owner>
     * .credentials}, mode 600, owned by {@code owner}.
     */
    public Path credentialsFile(Role role, Path dir, String owner) throws IOException {
        Files.createDirectories(dir);
        Path f = dir.resolve(role.key() + "-" + owner + ".credentials");
        Files.deleteIfExists(f);
        Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(f, user(role) + ":" + passwords.get(role) + "\n");
        OsUser.own(f, owner);
        return f;
    }

    /** Writes {@code dir/acl.properties} (mode 644): the ids of the three roles. */
    public Path aclFile(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path f = dir.resolve("acl.properties");
        StringBuilder sb = new StringBuilder();
        for (Role r : Role.values()) {
            sb.append(r.key()).append('=').append(id(r)).append('\n');
        }
        Files.writeString(f, sb.toString());
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        return f;
    }

    /** The {@code zgres.zookeeper} configuration of a runtime with {@code role} that runs as {@code owner}. */
    public Map<String, Object> runtimeConfig(Role role, String connect, Path dir, String owner) throws IOException {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("connect", connect);
        c.put("credentials_file", credentialsFile(role, dir, owner).toString());
        c.put("acl_file", aclFile(dir).toString());
        return c;
    }
}
