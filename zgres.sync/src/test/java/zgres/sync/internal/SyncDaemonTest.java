package zgres.sync.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.annotation.Annotation;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.ACLProvider;
import org.junit.jupiter.api.Test;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.ComponentServiceObjects;

import zgres.api.ClusterSnapshot;
import zgres.api.sync.SyncPlugin;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.Coordination;
import zgres.zookeeper.ZkPaths;

/**
 * The sync daemon takes the cache of every group only while a plugin is there: a runtime without sync plugins (a
 * database node) never watches the whole fleet.
 */
class SyncDaemonTest {
    static final class FakeCache implements ClusterCache {
        final List<Consumer<ClusterSnapshot>> listeners = new CopyOnWriteArrayList<>();
        volatile ClusterSnapshot snapshot = new ClusterSnapshot(7, Instant.now(), new TreeMap<>(), List.of());

        @Override
        public ClusterSnapshot snapshot() {
            return snapshot;
        }

        @Override
        public boolean awaitInitialized(long timeout, TimeUnit unit) {
            return true;
        }

        @Override
        public boolean initialized() {
            return true;
        }

        @Override
        public void addListener(Consumer<ClusterSnapshot> l) {
            listeners.add(l);
        }

        @Override
        public void removeListener(Consumer<ClusterSnapshot> l) {
            listeners.remove(l);
        }
    }

    static final class Objects implements ComponentServiceObjects<ClusterCache> {
        final FakeCache cache = new FakeCache();
        int held;

        @Override
        public ClusterCache getService() {
            held++;
            return cache;
        }

        @Override
        public void ungetService(ClusterCache service) {
            held--;
        }

        @Override
        public ServiceReference<ClusterCache> getServiceReference() {
            return null;
        }
    }

    static final Coordination ZK = new Coordination() {
        @Override
        public String connectString() {
            return "127.0.0.1:1";
        }

        @Override
        public ZkPaths paths() {
            return new ZkPaths("/zgres");
        }

        @Override
        public ACLProvider acls() {
            return null;
        }

        @Override
        public CuratorFramework client() {
            return null;
        }

        @Override
        public CuratorFramework newClient(String name, int sessionTimeoutMs) {
            return null;
        }
    };

    static final SyncDaemon.Config CONFIG = new SyncDaemon.Config() {
        @Override
        public Class<? extends Annotation> annotationType() {
            return SyncDaemon.Config.class;
        }

        @Override
        public int debounce__ms() {
            return 1;
        }

        @Override
        public int resync__interval__s() {
            return 0;
        }

        @Override
        public int max__backoff__ms() {
            return 100;
        }
    };

    @Test
    void theCacheOfEveryGroupIsHeldOnlyWhilePluginsAreThere() {
        Objects objects = new Objects();
        SyncDaemon d = new SyncDaemon(CONFIG, ZK, objects);
        try {
            assertThat(objects.held).as("no plugin: the cache is never taken").isZero();
            assertThat(d.watching()).isFalse();

            List<ClusterSnapshot> seen = new CopyOnWriteArrayList<>();
            SyncPlugin p = seen::add;
            d.addPlugin(p, Map.of(SyncPlugin.NAME, "p"));
            assertThat(objects.held).isEqualTo(1);
            assertThat(objects.cache.listeners).hasSize(1);
            await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty());
            assertThat(seen.get(0).sequence()).as("the plugin gets the current snapshot at once").isEqualTo(7);

            SyncPlugin q = s -> { };
            d.addPlugin(q, Map.of(SyncPlugin.NAME, "q"));
            assertThat(objects.held).as("one cache for every plugin").isEqualTo(1);

            d.removePlugin(p);
            assertThat(objects.held).isEqualTo(1);
            d.removePlugin(q);
            assertThat(objects.held).as("the last plugin gone: the cache is given back").isZero();
            assertThat(objects.cache.listeners).isEmpty();
            assertThat(d.watching()).isFalse();

            objects.cache.snapshot = new ClusterSnapshot(9, Instant.now(), new TreeMap<>(), List.of());
            seen.clear();
            d.addPlugin(p, Map.of(SyncPlugin.NAME, "p"));
            await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty());
            assertThat(seen.get(0).sequence()).as("taken again: the newest snapshot first").isEqualTo(9);
        } finally {
            d.deactivate();
        }
        assertThat(objects.held).isZero();
    }
}
