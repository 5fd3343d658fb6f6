package zgres.zookeeper.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Credentials and the ACL file are read only when nobody else could have written or read them. */
class SecretFileTest {
    @TempDir
    Path dir;

    Path file(String name, String content, String mode) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    @Test
    void aPrivateCredentialsFileIsReadAndItsPasswordNeverShown() throws Exception {
        Path f = file("node.credentials", "# node\nzgres-node:s3cret\n", "rw-------");
        SecretFile.Digest d = SecretFile.digest("credentials_file", f.toString());
        assertThat(d.user()).isEqualTo("zgres-node");
        assertThat(d.id()).startsWith("digest:zgres-node:");
        assertThat(d.toString()).doesNotContain("s3cret");
    }

    @Test
    void aCredentialsFileOthersCanReadALinkOrABadLineIsRefused() throws Exception {
        Path open = file("open.credentials", "zgres-node:s3cret\n", "rw-r--r--");
        assertThatThrownBy(() -> SecretFile.digest("credentials_file", open.toString()))
                .hasMessageContaining("credentials_file").hasMessageContaining("open to others").hasMessageContaining(
                        "chmod 600").hasMessageNotContaining("s3cret");
        Path link = dir.resolve("link.credentials");
        Files.createSymbolicLink(link, file("target", "zgres-node:s3cret\n", "rw-------"));
        assertThatThrownBy(() -> SecretFile.digest("credentials_file", link.toString())).hasMessageContaining(
                "not a link");
        Path bad = file("bad.credentials", "no colon here\n", "rw-------");
        assertThatThrownBy(() -> SecretFile.digest("credentials_file", bad.toString())).hasMessageContaining(
                "user:password").hasMessageNotContaining("no colon here");
        assertThatThrownBy(() -> SecretFile.digest("credentials_file", "relative.credentials"))
                .hasMessageContaining("absolute");
    }

    @Test
    void theAclFileGivesTheIdsOfEachRoleAndMustNotBeWritableByOthers() throws Exception {
        Path f = file("acl.properties", "# ids\nnode=digest:zgres-node:abc=\noperator=digest:zgres-operator:def=, "
                + "x509:CN=admin\nsync=digest:zgres-sync:ghi=\n", "rw-r--r--");
        var ids = AclFile.read(f.toString());
        assertThat(ids.get("operator")).containsExactly("digest:zgres-operator:def=", "x509:CN=admin");
        assertThat(ids.get("sync")).containsExactly("digest:zgres-sync:ghi=");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-rw-"));
        assertThatThrownBy(() -> AclFile.read(f.toString())).hasMessageContaining("writable by others");
        Path bad = file("bad.properties", "admin=digest:x:y\n", "rw-r--r--");
        assertThatThrownBy(() -> AclFile.read(bad.toString())).hasMessageContaining("line 1");
    }
}
