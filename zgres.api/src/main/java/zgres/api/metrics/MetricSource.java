package zgres.api.metrics;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Something a runtime measures (a deadman, the sync daemon, the ZooKeeper connection), read at every scrape: it
 * writes its current values, nothing is kept between scrapes. Register it as a service.
 */
@ConsumerType
public interface MetricSource {

    /** Writes the current values; quick, and never blocks on ZooKeeper or PostgreSQL. */
    void collect(MetricWriter out);
}
