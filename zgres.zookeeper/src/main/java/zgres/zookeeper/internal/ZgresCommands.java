package zgres.zookeeper.internal;

import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

import zgres.api.ClusterSnapshot;
import zgres.api.GroupName;
import zgres.api.GroupState;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.Coordination;

/** The {@code zgres:} Gogo commands that read the cluster. They return values; Gogo prints them. */
@Component(service = ZgresCommands.class)
@GogoCommand(scope = "zgres", function = {"list", "await"})
public class ZgresCommands {
    private final Coordination zk;
    private final ClusterReader reader;

    @Activate
    public ZgresCommands(@Reference Coordination zk) {
        this.zk = zk;
        this.reader = new ClusterReader(zk.client(), zk.paths(), "shell");
        reader.start();
    }

    @Deactivate
    void deactivate() {
        reader.close();
    }

    ClusterSnapshot snapshot() throws InterruptedException {
        if (!reader.awaitInitialized(15, TimeUnit.SECONDS)) {
            throw new IllegalStateException("cannot read ZooKeeper at " + zk.connectString() + " within 15 s");
        }
        return reader.rebuild();
    }

    @Descriptor("List every group and node: role, state, timeline, LSN, lag, zone (like patronictl list)")
    public CharSequence list(
            @Descriptor("print JSON (one object per node) for scripts") @Parameter(names = {"-j", "--json"},
                    presentValue = "true", absentValue = "false") boolean json) throws Exception {
        return render(json, Optional.empty());
    }

    @Descriptor("List one group's nodes: role, state, timeline, LSN, lag, zone")
    public CharSequence list(
            @Descriptor("print JSON (one object per node) for scripts") @Parameter(names = {"-j", "--json"},
                    presentValue = "true", absentValue = "false") boolean json,
            @Descriptor("group name") String group) throws Exception {
        GroupName.require(group);
        return render(json, Optional.of(group));
    }

    private CharSequence render(boolean json, Optional<String> group) throws Exception {
        ClusterSnapshot s = snapshot();
        return json ? ClusterView.json(s, group) : ClusterView.table(s, group);
    }

    @Descriptor("Wait until a group has a master and at least N healthy nodes; prints the group")
    public CharSequence await(
            @Descriptor("timeout in seconds") @Parameter(names = {"-t", "--timeout"}, absentValue = "60") int timeout,
            @Descriptor("group name") String group,
            @Descriptor("healthy nodes to wait for (master included)") int healthy) throws Exception {
        GroupName.require(group);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
        while (true) {
            ClusterSnapshot s = snapshot();
            Optional<GroupState> g = s.group(group);
            if (g.isPresent() && g.get().masterConn().isPresent() && g.get().conns().size() >= healthy) {
                return ClusterView.table(s, Optional.of(group));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("group " + group + " did not reach a master and " + healthy
                        + " healthy nodes within " + timeout + " s:\n" + ClusterView.table(s, Optional.of(group)));
            }
            Thread.sleep(200);
        }
    }
}
