package zgres.api;

import java.util.List;

/**
 * {@code /sync/{group}}: the master and the synchronous standbys that hold every acknowledged commit.
 */
public record SyncState(String master, List<String> standbys) {
    public static final SyncState NONE = new SyncState("", List.of());

    public SyncState {
        master = master == null ? "" : master;
        standbys = List.copyOf(standbys);
    }
}
