package zgres.zookeeper.internal;

import java.util.Set;

import zgres.zookeeper.ZkPaths;

/**
 * Which znodes of the snapshot directories a reader keeps: those of the groups it serves ({@code /state/{group}_…},
 * {@code /conn/{group}_…}, {@code /lock/{group}}, {@code /static/{group}-db-id}, {@code /static/{group}-timeline},
 * {@code /sync/{group}}, {@code /switchover/{group}}, {@code /pause/{group}}), or every child of a directory when it
 * serves all groups. Nothing deeper than a directory's children is part of a snapshot, so nothing deeper is kept.
 */
public final class GroupSelection {
    /** empty: every group */
    private final Set<String> groups;

    public GroupSelection(Set<String> groups) {
        this.groups = Set.copyOf(groups);
    }

    /** @return true when this selection keeps every group */
    public boolean all() {
        return groups.isEmpty();
    }

    /** {@link #classify}: the path is a snapshot directory itself */
    static final String DIRECTORY = "/";
    /** {@link #classify}: a child of a snapshot directory that names no group (junk) */
    static final String NO_GROUP = "";

    /**
     * Where a path stands in the tree a snapshot is made of, read once for both the selection and the index.
     *
     * @return {@link #DIRECTORY}, the group a directory's child belongs to ({@link #NO_GROUP} when it names none), or
     *         null for what is outside the root or deeper than a directory's children
     */
    static String classify(ZkPaths paths, String path) {
        String rel = path == null ? null : paths.relative(path);
        if (rel == null) {
            return null;
        }
        int slash = rel.indexOf('/');
        if (slash < 0) {
            return DIRECTORY;
        }
        if (rel.indexOf('/', slash + 1) >= 0) {
            return null;
        }
        String g = groupOf(rel.substring(0, slash), rel.substring(slash + 1));
        return g == null ? NO_GROUP : g;
    }

    /** @return true when a path {@link #classify classified} so is kept */
    boolean keeps(String where) {
        if (where == null) {
            return false;
        }
        if (where.equals(DIRECTORY) || all()) {
            return true;
        }
        return !where.equals(NO_GROUP) && groups.contains(where);
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
