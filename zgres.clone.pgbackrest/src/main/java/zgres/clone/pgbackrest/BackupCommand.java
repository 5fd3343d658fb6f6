package zgres.clone.pgbackrest;

import java.util.List;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code zgres:backup}: a pgBackRest backup now, taken by the local master of each group. */
@Component(service = BackupCommand.class)
@GogoCommand(scope = "zgres", function = {"backup"})
public class BackupCommand {
    private final PgBackRest pgbackrest;

    @Activate
    public BackupCommand(@Reference PgBackRest pgbackrest) {
        this.pgbackrest = pgbackrest;
    }

    @Descriptor("Take a pgBackRest backup now on this runtime's master (full, diff or incr; default full)")
    public String backup() {
        return backup("full");
    }

    @Descriptor("Take a pgBackRest backup now on this runtime's master")
    public String backup(@Descriptor("full, diff or incr") String type) {
        if (!List.of("full", "diff", "incr").contains(type)) {
            throw new IllegalArgumentException("backup type '" + type + "' must be full, diff or incr");
        }
        List<NodeRepo> masters = pgbackrest.masters();
        if (masters.isEmpty()) {
            throw new IllegalStateException("no master with wal_archive = pgbackrest runs in this runtime: run "
                    + "zgres:backup on the master's runtime (zgres:list shows it)");
        }
        StringBuilder sb = new StringBuilder();
        for (NodeRepo r : masters) {
            sb.append(r.node().id()).append(": ").append(pgbackrest.backup(r, type, "requested from the console"))
                    .append('\n');
        }
        return sb.toString().strip();
    }
}
