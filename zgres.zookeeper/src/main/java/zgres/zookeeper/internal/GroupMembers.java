package zgres.zookeeper.internal;

import java.io.Closeable;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.watch.PersistentWatcher;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The children of one shared directory ({@code /state} or {@code /conn}) that belong to some groups, each cached on
 * its own ({@link CuratorCache.Options#SINGLE_NODE_CACHE}). A non-recursive persistent watch on the directory says
 * when children come or go (any group's); the directory is then listed and only our groups' children are cached. So
 * what other groups write never reaches this client: only their nodes joining or leaving does, as one listing.
 *
 * <p>
 * States: LATENT, STARTED (listed at start, after every change of the children and after every reconnection),
 * CLOSED (every child cache closed).
 */
public final class GroupMembers implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(GroupMembers.class);

    private final CuratorFramework client;
    private final String dir;
    private final Set<String> groups;
    private final Function<String, CuratorCache> open;
    private final Consumer<CuratorCache> closer;
    private final Runnable firstListed;
    private final PersistentWatcher watcher;
    private final Map<String, CuratorCache> children = new HashMap<>();
    private boolean listed;
    private boolean closed;
    private long listings;

    /**
     * @param open makes, starts and returns the cache of one child (by its full path)
     * @param closer closes a child's cache once the child is gone
     * @param firstListed called once, after the first listing opened its children's caches
     */
    public GroupMembers(CuratorFramework client, String dir, Set<String> groups, Function<String, CuratorCache> open,
            Consumer<CuratorCache> closer, Runnable firstListed) {
        this.client = client;
        this.dir = dir;
        this.groups = Set.copyOf(groups);
        this.open = open;
        this.closer = closer;
        this.firstListed = firstListed;
        this.watcher = new PersistentWatcher(client, dir, false);
    }

    public void start() {
        watcher.getListenable().addListener(event -> {
            if (event.getType() == Watcher.Event.EventType.NodeChildrenChanged
                    || event.getType() == Watcher.Event.EventType.NodeCreated
                    || event.getType() == Watcher.Event.EventType.NodeDeleted) {
                list();
            }
        });
        watcher.getResetListenable().addListener(this::list); // set again after a reconnection: what did we miss?
        watcher.start();
        list();
    }

    private void list() {
        synchronized (this) {
            if (closed) {
                return;
            }
        }
        try {
            client.getChildren().inBackground(this::listed).forPath(dir);
        } catch (Exception e) {
            LOG.warn("cannot list {}: {}", dir, e.toString());
        }
    }

    private void listed(CuratorFramework c, CuratorEvent e) {
        List<String> names;
        if (e.getResultCode() == KeeperException.Code.OK.intValue()) {
            names = e.getChildren();
        } else if (e.getResultCode() == KeeperException.Code.NONODE.intValue()) {
            names = List.of(); // no node has published yet
        } else {
            // without a connection: the watch is set again on reconnection, and lists again then
            LOG.debug("listing {} failed: {}", dir, KeeperException.Code.get(e.getResultCode()));
            return;
        }
        boolean first;
        synchronized (this) {
            if (closed) {
                return;
            }
            listings++;
            Set<String> ours = new HashSet<>();
            for (String n : names) {
                String g = GroupSelection.groupOf(dir.substring(dir.lastIndexOf('/') + 1), n);
                if (g != null && groups.contains(g)) {
                    ours.add(n);
                }
            }
            for (String n : ours) {
                children.computeIfAbsent(n, k -> open.apply(dir + "/" + k));
            }
            children.entrySet().removeIf(ch -> {
                if (ours.contains(ch.getKey())) {
                    return false;
                }
                closer.accept(ch.getValue());
                return true;
            });
            first = !listed;
            listed = true;
        }
        if (first) {
            firstListed.run();
        }
    }

    /** @return how many times the directory was listed (each: one round trip with every group's children names) */
    public synchronized long listings() {
        return listings;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            children.values().forEach(closer);
            children.clear();
        }
        watcher.close();
    }
}
