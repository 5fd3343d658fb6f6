package zgres.metrics.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

import zgres.api.metrics.MetricSource;

/** What the sources write becomes the Prometheus text format; a failing source leaves the others served. */
class CollectorTest {
    @Test
    void sourcesBecomeTheTextFormat() throws Exception {
        MetricSource node = out -> {
            out.gauge("zgres_lock_held", "1 while this node holds the master lock", 1, "node", "g_127.0.0.1:5432");
            out.counter("zgres_decisions_total", "Decisions that acted, by action", 3, "node", "g_127.0.0.1:5432",
                    "action", "promote");
        };
        MetricSource broken = out -> {
            throw new IllegalStateException("boom");
        };
        MetricSource other = out -> out.gauge("zgres_lock_held", "1 while this node holds the master lock", 0, "node",
                "g_127.0.0.1:5433");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(b, Collector.collect(List.of(node, broken, other)),
                EscapingScheme.DEFAULT);
        String text = b.toString();
        assertThat(text).contains("# TYPE zgres_lock_held gauge")
                .contains("zgres_lock_held{node=\"g_127.0.0.1:5432\"} 1.0")
                .contains("zgres_lock_held{node=\"g_127.0.0.1:5433\"} 0.0")
                .contains("# TYPE zgres_decisions_total counter")
                .contains("zgres_decisions_total{action=\"promote\",node=\"g_127.0.0.1:5432\"} 3.0");
    }
}
