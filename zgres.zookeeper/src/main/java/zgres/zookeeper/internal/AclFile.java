package zgres.zookeeper.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import zgres.zookeeper.ZkAcls;

/**
 * The ZooKeeper ids of each role, from a local file ({@code ./zgres credentials} writes it): lines
 * {@code node=digest:zgres-node:...}, {@code operator=...}, {@code sync=...}, several ids per role separated by
 * commas or on several lines. Not secret (ZooKeeper shows ACLs to readers) but trusted: it decides who may write, so
 * it must belong to this runtime's user or root and nobody else may write it.
 */
final class AclFile {
    private AclFile() {
    }

    /** @return role to ids (every role present, maybe empty); nothing when {@code file} is empty */
    static Map<String, List<String>> read(String file) throws IOException {
        Map<String, List<String>> ids = new LinkedHashMap<>();
        for (String role : List.of("node", "operator", "sync")) {
            ids.put(role, new ArrayList<>());
        }
        if (file == null || file.isBlank()) {
            return ids;
        }
        Path p = Path.of(file);
        if (!p.isAbsolute() || Files.isSymbolicLink(p) || !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("acl_file: " + file + " is not an absolute path to a regular file");
        }
        String owner = Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName();
        if (!owner.equals("root") && !owner.equals(System.getProperty("user.name"))) {
            throw new IllegalArgumentException("acl_file: " + p + " belongs to " + owner + ": it decides who may write "
                    + "to ZooKeeper, so it must belong to this runtime's user or root");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
        if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IllegalArgumentException("acl_file: " + p + " is writable by others: chmod go-w " + p);
        }
        int n = 0;
        for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
            n++;
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            int eq = l.indexOf('=');
            String role = eq < 0 ? "" : l.substring(0, eq).strip();
            if (!ids.containsKey(role)) {
                throw new IllegalArgumentException("acl_file: " + p + " line " + n + ": expected node=, operator= or "
                        + "sync=");
            }
            for (String id : l.substring(eq + 1).split(",")) {
                if (!id.isBlank()) {
                    ZkAcls.parse("acl_file " + p + " line " + n, id.strip());
                    ids.get(role).add(id.strip());
                }
            }
        }
        return ids;
    }
}
