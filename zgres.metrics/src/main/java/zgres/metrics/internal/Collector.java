package zgres.metrics.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import zgres.api.metrics.MetricSource;
import zgres.api.metrics.MetricWriter;

/**
 * One scrape: asks every source for its values and turns them into the Prometheus client's snapshots, one family per
 * name (a source that fails or writes a name with two types is left out with the reason in the log; the others are
 * served).
 */
final class Collector implements MetricWriter {
    private static final Logger LOG = LoggerFactory.getLogger(Collector.class);

    private record Sample(Labels labels, double value) {}

    private static final class Family {
        final boolean counter;
        final String help;
        final List<Sample> samples = new ArrayList<>();

        Family(boolean counter, String help) {
            this.counter = counter;
            this.help = help;
        }
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    static MetricSnapshots collect(List<MetricSource> sources) {
        Collector c = new Collector();
        for (MetricSource s : sources) {
            try {
                s.collect(c);
            } catch (RuntimeException e) {
                LOG.error("metrics: {} failed: {}", s, e.toString(), e);
            }
        }
        return c.snapshots();
    }

    @Override
    public void gauge(String name, String help, double value, String... labels) {
        add(false, name, help, value, labels);
    }

    @Override
    public void counter(String name, String help, double value, String... labels) {
        if (!name.endsWith("_total")) {
            throw new IllegalArgumentException("counter " + name + " must end in _total");
        }
        add(true, name.substring(0, name.length() - "_total".length()), help, value, labels);
    }

    private void add(boolean counter, String name, String help, double value, String... labels) {
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException(name + ": labels come as name, value pairs");
        }
        Family f = families.computeIfAbsent(name, n -> new Family(counter, help));
        if (f.counter != counter) {
            throw new IllegalArgumentException(name + " is both a counter and a gauge");
        }
        String[] names = new String[labels.length / 2];
        String[] values = new String[labels.length / 2];
        for (int i = 0; i < names.length; i++) {
            names[i] = labels[2 * i];
            values[i] = labels[2 * i + 1] == null ? "" : labels[2 * i + 1];
        }
        f.samples.add(new Sample(Labels.of(names, values), value));
    }

    MetricSnapshots snapshots() {
        List<MetricSnapshot> out = new ArrayList<>();
        families.forEach((name, f) -> {
            try {
                if (f.counter) {
                    CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(f.help);
                    f.samples.forEach(s -> b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                            .labels(s.labels()).value(s.value()).build()));
                    out.add(b.build());
                } else {
                    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(f.help);
                    f.samples.forEach(s -> b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                            .labels(s.labels()).value(s.value()).build()));
                    out.add(b.build());
                }
            } catch (IllegalArgumentException e) {
                LOG.error("metrics: {} left out: {}", name, e.getMessage());
            }
        });
        return new MetricSnapshots(out);
    }
}
