package zgres.zookeeper.internal;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

import zgres.api.ClusterSnapshot;
import zgres.zookeeper.ClusterCache;
import zgres.zookeeper.ClusterReader;
import zgres.zookeeper.Coordination;

/** The runtime's one {@link ClusterCache}: a {@link ClusterReader} on the shared client. */
@Component(service = ClusterCache.class)
public class SharedClusterCache implements ClusterCache {
    private final ClusterReader reader;
    /**
     * The reader's metrics, registered while the cache lives: a metrics scrape must not create the cache (a runtime
     * creates it only when something needs every group: a sync plugin, a console command)
     */
    private final org.osgi.framework.ServiceRegistration<zgres.api.metrics.MetricSource> metrics;

    @Activate
    public SharedClusterCache(org.osgi.framework.BundleContext context, @Reference Coordination zk) {
        reader = new ClusterReader(zk.client(), zk.paths(), "cache");
        reader.start();
        metrics = context.registerService(zgres.api.metrics.MetricSource.class, reader, null);
    }

    @Deactivate
    void deactivate() {
        try {
            metrics.unregister();
        } catch (IllegalStateException e) {
            // already gone with the bundle
        }
        reader.close();
    }

    @Override
    public ClusterSnapshot snapshot() {
        return reader.snapshot();
    }

    @Override
    public boolean awaitInitialized(long timeout, TimeUnit unit) throws InterruptedException {
        return reader.awaitInitialized(timeout, unit);
    }

    @Override
    public boolean initialized() {
        return reader.initialized();
    }

    @Override
    public void addListener(Consumer<ClusterSnapshot> listener) {
        reader.addListener(listener);
    }

    @Override
    public void removeListener(Consumer<ClusterSnapshot> listener) {
        reader.removeListener(listener);
    }
}
