package zgres.zookeeper.internal;

import java.util.Set;
import java.util.function.Predicate;

import zgres.zookeeper.ZkPaths;

/**
 * Which znodes of the snapshot directories a reader keeps: those of the groups it serves ({@code /state/{group}_…},
 * {@code /conn/{group}_…}, {@code /lock/{group}}, {@code /static/{group}-db-id}, {@code /static/{group}-timeline},
 * {@code /sync/{group}}, {@code /switchover/{group}}, {@code /pause/{group}}), or every child of a directory when it
 * serves all groups. Nothing deeper than a directory's children is part of a snapshot, so nothing deeper is kept.
 */
public final class GroupSelection implements Predicate<String> {
    private final ZkPaths paths;
    /** empty: every group */
    private final Set<String> groups;

    public GroupSelection(ZkPaths paths, Set<String> groups) {
        this.paths = paths;
        this.groups = Set.copyOf(groups);
    }

    /** @return true when this selection keeps every group */
    public boolean all() {
        return groups.isEmpty();
    }

    @Override
    public boolean test(String path) {
        String rel = path == null ? null : paths.relative(path);
        if (rel == null) {
            return false;
        }
        String[] parts = rel.split("/", -1);
        if (parts.length == 1) {
            return true; // a directory itself
        }
        if (parts.length > 2) {
            return false;
        }
        if (all()) {
            return true;
        }
        String group = groupOf(parts[0], parts[1]);
        return group != null && groups.contains(group); // (an immutable set refuses to look for null)
    }

    /** @return the group a child of a snapshot directory belongs to by its name, or null when it names none */
    static String groupOf(String dir, String child) {
        return switch (dir) {
            case "state", "conn" -> child.indexOf('_') > 0 ? child.substring(0, child.indexOf('_')) : null;
            case "static" -> child.endsWith("-db-id") ? child.substring(0, child.length() - "-db-id".length())
                    : child.endsWith("-timeline") ? child.substring(0, child.length() - "-timeline".length()) : null;
            case "lock", "sync", "switchover", "pause" -> child;
            default -> null;
        };
    }
}
