package zgres.deadman.publish;

import java.io.Closeable;
import java.io.IOException;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.zookeeper.CreateMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ConnInfo;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.zookeeper.ZkPaths;
import zgres.zookeeper.Znodes;

/**
 * A node's {@code /state} and {@code /conn} (owns both znodes, ephemeral, re-created by Curator after a session
 * loss). {@code /state} is written when something other than the positions changed, when only the positions moved
 * and {@code state_interval_ms} passed (or the lock is free: the election wants fresh positions), and every 30 s.
 * {@code /conn} exists only while the node is healthy and never changes while it exists (deleted and re-created).
 */
public final class StatePublisher implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(StatePublisher.class);
    private static final long REFRESH_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final CuratorFramework client;
    private final ZkPaths paths;
    private final NodeId me;
    private final String name;
    private PersistentNode stateNode;
    private PersistentNode connNode;
    private byte[] connData;
    private NodeState published;
    private long publishedAt;

    public StatePublisher(CuratorFramework client, ZkPaths paths, NodeId me) {
        this.client = client;
        this.paths = paths;
        this.me = me;
        this.name = me.toString();
    }

    /** @return the state last written, if any */
    public synchronized Optional<NodeState> published() {
        return Optional.ofNullable(published);
    }

    /**
     * Publishes {@code state}, and {@code conn} when the node is healthy (else withdraws it).
     *
     * @param stateIntervalMs minimum interval between writes that only move positions
     * @param lockFree the group's lock is free: positions are written at once
     */
    public synchronized void publish(NodeState state, Optional<ConnInfo> conn, long stateIntervalMs,
            boolean lockFree) {
        long now = System.nanoTime();
        boolean changed = published == null || !sameExceptPositions(published, state);
        boolean positionsDue = published != null && !samePositions(published, state)
                && (now - publishedAt >= TimeUnit.MILLISECONDS.toNanos(stateIntervalMs) || lockFree);
        boolean refresh = now - publishedAt >= REFRESH_NANOS;
        if ((changed || positionsDue || refresh) && writeState(state)) {
            published = state;
            publishedAt = now;
        }
        if (conn.isPresent()) {
            openConn(conn.get());
        } else {
            withdrawConn();
        }
    }

    /**
     * For a master giving its lock away: an operation writing its state as stopping (no longer master), to go in the
     * same transaction as the lock's deletion, so that the new master does not wait for this one's lease (a free lock
     * whose last holder still says it is master makes candidates wait; see the Observer).
     *
     * @return empty when this node does not publish itself as master
     */
    public synchronized Optional<CuratorOp> steppingDown() {
        NodeState p = published;
        if (p == null || p.role() != Role.MASTER) {
            return Optional.empty();
        }
        NodeState s = new NodeState(p.id(), Role.STOPPED, NodePhase.STOPPING, p.upstream(), p.problems(), p.timeline(),
                p.receiveLsn(), p.replayLsn(), p.writeLsn(), p.lagBytes(), p.systemId(), p.tags(), p.paused(),
                p.plugins(), p.metadata(), java.time.Instant.now(), p.policy());
        try {
            CuratorOp op = client.transactionOp().setData().forPath(paths.state(me), Znodes.encode(s));
            published = s; // the next publish writes what is observed then (it differs)
            return Optional.of(op);
        } catch (Exception e) {
            LOG.debug("[{}] cannot prepare the stepping-down state: {}", name, e.toString());
            return Optional.empty();
        }
    }

    private static boolean samePositions(NodeState a, NodeState b) {
        return a.receiveLsn().equals(b.receiveLsn()) && a.replayLsn().equals(b.replayLsn())
                && a.writeLsn().equals(b.writeLsn()) && a.lagBytes() == b.lagBytes();
    }

    private static boolean sameExceptPositions(NodeState a, NodeState b) {
        return a.role() == b.role() && a.phase() == b.phase() && a.upstream().equals(b.upstream())
                && a.problems().equals(b.problems()) && a.timeline() == b.timeline()
                && a.systemId().equals(b.systemId()) && a.tags().equals(b.tags()) && a.paused() == b.paused()
                && a.plugins().equals(b.plugins()) && a.metadata().equals(b.metadata())
                && a.policy().equals(b.policy());
    }

    private boolean writeState(NodeState ns) {
        byte[] data = Znodes.encode(ns);
        try {
            if (stateNode == null) {
                stateNode = new PersistentNode(client, CreateMode.EPHEMERAL, false, paths.state(me), data);
                stateNode.start();
                stateNode.waitForInitialCreate(5, TimeUnit.SECONDS);
            } else {
                stateNode.setData(data);
            }
            return true;
        } catch (Exception e) {
            LOG.warn("[{}] could not publish state: {}", name, e.toString());
            return false;
        }
    }

    private void openConn(ConnInfo c) {
        byte[] data = Znodes.encode(c);
        if (connNode != null && Arrays.equals(data, connData)) {
            return;
        }
        withdrawConn(); // /conn never changes during its life: delete and recreate
        connNode = new PersistentNode(client, CreateMode.EPHEMERAL, false, paths.conn(me), data);
        connNode.start();
        connData = data;
        LOG.info("[{}] healthy: published {}", name, paths.conn(me));
    }

    /**
     * Deletes this node's {@code /state} and {@code /conn} when an earlier session of ours still owns them (they go only
     * when ZooKeeper expires that session, up to T after it is back): the failsafe's master retakes its lock only with
     * a {@code /state} of its current session, which the persistent nodes create again at once.
     */
    public synchronized void reclaim(long session) {
        for (String path : java.util.List.of(paths.state(me), paths.conn(me))) {
            try {
                org.apache.zookeeper.data.Stat st = client.checkExists().forPath(path);
                if (st != null && st.getEphemeralOwner() != session) {
                    client.delete().withVersion(st.getVersion()).forPath(path);
                    LOG.warn("[{}] deleted {} left by our earlier session 0x{}", name, path,
                            Long.toHexString(st.getEphemeralOwner()));
                }
            } catch (Exception e) {
                LOG.debug("[{}] reclaiming {}: {}", name, path, e.toString());
            }
        }
    }

    /** Deletes {@code /conn}: clients stop being routed here. */
    public synchronized void withdrawConn() {
        if (connNode != null) {
            try {
                connNode.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("closing conn node: {}", e.toString()); // (a closed client: the znode goes with its session)
            }
            connNode = null;
            connData = null;
            LOG.info("[{}] not healthy: removed {}", name, paths.conn(me));
        }
    }

    @Override
    public synchronized void close() {
        withdrawConn();
        if (stateNode != null) {
            try {
                stateNode.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("closing state node: {}", e.toString());
            }
            stateNode = null;
        }
    }
}
