package zgres.shell.internal;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import zgres.api.sync.SyncStatus;

/** {@code zgres:sync}: this runtime's sync plugins and the last snapshot each applied. */
@Component(service = SyncCommands.class)
@GogoCommand(scope = "zgres", function = {"sync"})
public class SyncCommands {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile SyncStatus status;

    @Descriptor("Show the sync plugins of this runtime and the last snapshot each applied (--resync: hand them the "
            + "current snapshot again now)")
    public CharSequence sync(
            @Descriptor("deliver the current snapshot to every plugin again first") @Parameter(names = {"--resync"},
                    presentValue = "true", absentValue = "false") boolean resync) {
        SyncStatus s = status;
        if (s == null) {
            return "no sync daemon in this runtime (configure zgres.sync)";
        }
        if (resync) {
            s.resync();
        }
        List<SyncStatus.Plugin> plugins = s.plugins();
        if (plugins.isEmpty()) {
            return "no sync plugins";
        }
        return plugins.stream().map(p -> String.format("%-32s snapshot #%d at %s, %d applied, %d failures%s", p.name(),
                p.appliedSequence(), p.appliedAt(), p.applied(), p.failures(),
                p.lastError().isEmpty() ? "" : " (last: " + p.lastError() + ")")).collect(Collectors.joining("\n"));
    }
}
