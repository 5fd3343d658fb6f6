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
@Component(service = {ClusterCache.class, zgres.api.metrics.MetricSource.class})
public class SharedClusterCache implements ClusterCache, zgres.api.metrics.MetricSource {
    private final ClusterReader reader;

    @Activate
    public SharedClusterCache(@Reference Coordination zk) {
        reader = new ClusterReader(zk.client(), zk.paths(), "cache");
        reader.start();
    }

    @Deactivate
    void deactivate() {
        reader.close();
    }

    @Override
    public void collect(zgres.api.metrics.MetricWriter out) {
        reader.collect(out);
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
