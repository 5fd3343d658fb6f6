package zgres.api;

import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A full, immutable view of every group under the zgres root at one moment.
 *
 * @param sequence increases with every snapshot a reader produces
 * @param takenAt when the snapshot was built
 * @param groups groups by name
 * @param problems znodes that could not be read (path and reason); they were ignored
 */
public record ClusterSnapshot(long sequence, Instant takenAt, SortedMap<String, GroupState> groups,
        List<String> problems) {

    public static final ClusterSnapshot EMPTY = new ClusterSnapshot(0, Instant.EPOCH, new TreeMap<>(), List.of());

    public ClusterSnapshot {
        groups = Collections.unmodifiableSortedMap(new TreeMap<>(groups));
        problems = List.copyOf(problems);
    }

    public Optional<GroupState> group(String name) {
        return Optional.ofNullable(groups.get(name));
    }

    /** @return true when both snapshots hold the same groups (sequence and time ignored) */
    public boolean sameContent(ClusterSnapshot other) {
        return other != null && groups.equals(other.groups);
    }
}
