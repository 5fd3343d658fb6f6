package zgres.shell.internal;

import java.util.Optional;

import zgres.api.ClusterSnapshot;

/** What {@code zgres:list} returns: a snapshot, all groups or one; {@link ListingConverter} prints it as a table. */
public record ClusterListing(ClusterSnapshot snapshot, Optional<String> group) {
    @Override
    public String toString() {
        return ClusterView.table(snapshot, group);
    }
}
