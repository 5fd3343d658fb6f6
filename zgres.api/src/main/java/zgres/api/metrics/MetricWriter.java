package zgres.api.metrics;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Where a {@link MetricSource} writes. Names follow Prometheus conventions ({@code zgres_..._seconds}, {@code _bytes},
 * counters end in {@code _total}); the same name always has the same help and label names. Labels are given as
 * name, value pairs.
 */
@ProviderType
public interface MetricWriter {

    /** A value that goes up and down. */
    void gauge(String name, String help, double value, String... labels);

    /** A count since the process started (never goes down). */
    void counter(String name, String help, double value, String... labels);
}
