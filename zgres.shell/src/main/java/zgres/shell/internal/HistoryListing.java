package zgres.shell.internal;

import java.util.List;
import java.util.Optional;

import zgres.api.HistoryEntry;

/** What {@code zgres:history} returns: one row per promotion (or per unreadable entry, with the reason). */
public record HistoryListing(String group, List<Row> rows) {

    /** An entry, or why it could not be read. */
    public record Row(Optional<HistoryEntry> entry, String problem) {}

    @Override
    public String toString() {
        Table t = new Table("History of " + group, "Time", "TL", "LSN", "Old master", "New master", "Reason");
        for (Row r : rows) {
            if (r.entry().isPresent()) {
                HistoryEntry h = r.entry().get();
                t.row(h.at(), h.timeline(), h.lsn(), address(h.oldMaster()), address(h.newMaster()),
                        h.cause().jsonName());
            } else {
                t.row("?", "", "", "", "", "unreadable: " + r.problem());
            }
        }
        return t.toString();
    }

    private static String address(String nodeId) {
        int us = nodeId.lastIndexOf('_');
        return us < 0 ? nodeId : nodeId.substring(us + 1);
    }
}
