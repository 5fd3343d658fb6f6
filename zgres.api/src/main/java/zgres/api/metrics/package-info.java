/**
 * Metrics: the runtime's parts describe what they measure ({@link MetricSource}); the metrics endpoint writes it in
 * the Prometheus text format at every scrape.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package zgres.api.metrics;
