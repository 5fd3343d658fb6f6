package zgres.bench;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.zookeeper.data.Stat;

import com.fasterxml.jackson.databind.node.ObjectNode;

import zgres.api.ConnInfo;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Tags;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;
import zgres.zookeeper.internal.SnapshotBuilder;

/**
 * {@code ./zgres bench scale --snapshot-cost}: what one change costs the snapshot builder of a reader of every group,
 * in this JVM without ZooKeeper: the whole tree built again (the design before incremental snapshots) against the one
 * changed group built again and the others taken as they were, for N groups of 3 nodes ({@code /state}, {@code /conn},
 * {@code /lock}, {@code /static/…-db-id}: 8 znodes a group).
 */
final class SnapshotCost {
    private SnapshotCost() {
    }

    static int run(List<Integer> sizes) {
        ZkPaths paths = new ZkPaths("/zgres");
        for (int n : sizes) {
            List<ChildData> all = new ArrayList<>();
            long[] zxid = {1000};
            for (int g = 0; g < n; g++) {
                all.addAll(group(paths, String.format("s%04d", g), g, 1, zxid));
            }
            SnapshotBuilder b = new SnapshotBuilder(paths, "cost");
            long seq = 0;
            // warm up, then medians
            for (int i = 0; i < 5; i++) {
                b.build(all, ++seq);
            }
            List<Double> full = new ArrayList<>();
            for (int i = 0; i < 15; i++) {
                long t = System.nanoTime();
                b.build(all, ++seq);
                full.add((System.nanoTime() - t) / 1e6);
            }
            List<Double> one = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                String name = String.format("s%04d", i % n);
                List<ChildData> changed = group(paths, name, i % n, i + 2, zxid);
                long t = System.nanoTime();
                b.update(Map.of(name, changed), ++seq);
                if (i >= 500) {
                    one.add((System.nanoTime() - t) / 1e6);
                }
            }
            ObjectNode o = Bench.JSON.createObjectNode();
            o.put("bench", "scale");
            o.put("snapshot_cost", true);
            o.put("groups", n);
            o.put("znodes", all.size());
            o.put("full_build_ms", Bench.round(Bench.median(full)));
            o.put("one_group_update_ms", Bench.round(Bench.median(one)));
            System.out.println(o);
        }
        return 0;
    }

    private static List<ChildData> group(ZkPaths paths, String name, int g, long lsn, long[] zxid) {
        List<ChildData> out = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            NodeId id = NodeId.parse(name + "_127.0.1." + (1 + k) + ":" + (20000 + g));
            Stat s = new Stat();
            s.setEphemeralOwner(1_000_000L * (g + 1) + k);
            s.setCzxid(++zxid[0]);
            s.setMzxid(zxid[0]);
            out.add(new ChildData(paths.state(id), s, Znodes.encode(new NodeState(id, k == 0 ? Role.MASTER
                    : Role.REPLICA, k == 0 ? NodePhase.RUNNING : NodePhase.STREAMING, k == 0 ? "" : "127.0.1.1:"
                            + (20000 + g), List.of(), 1, Lsn.of(lsn), Lsn.of(lsn), Lsn.of(lsn), 0,
                    "7000000000000000001", Tags.NONE, false, Map.of(), Map.of(), Instant.now()))));
            out.add(new ChildData(paths.conn(id), s, Znodes.encode(new ConnInfo(id.host(), id.port(), "postgres",
                    ""))));
            if (k == 0) {
                out.add(new ChildData(paths.lock(name), s, Znodes.encodeLock(id)));
            }
        }
        Stat p = new Stat();
        p.setCzxid(1);
        p.setMzxid(1);
        out.add(new ChildData(paths.dbId(name), p, "7000000000000000001".getBytes()));
        return out;
    }
}
