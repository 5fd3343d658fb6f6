package zgres.metrics.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;

import zgres.api.metrics.MetricSource;

/**
 * The runtime's {@code GET /metrics}: every {@link MetricSource} service of the runtime, collected at each scrape and
 * written by the Prometheus Java client's text-format writer. Read-only; the JDK's own HTTP server (see the deadman's
 * health checks for why).
 */
@Component(configurationPid = MetricsComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = MetricsComponent.Config.class)
public class MetricsComponent {
    public static final String PID = "zgres.metrics";
    private static final Logger LOG = LoggerFactory.getLogger(MetricsComponent.class);

    @ObjectClassDefinition(name = "zgres metrics", description = "The runtime's /metrics endpoint (Prometheus text "
            + "format)")
    public @interface Config {
        @AttributeDefinition(description = "Address /metrics listens on")
        String address() default "127.0.0.1";

        @AttributeDefinition(description = "Port of /metrics", min = "1", max = "65535")
        int port() default 9187;
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<MetricSource> sources = new CopyOnWriteArrayList<>();

    private HttpServer server;
    private ExecutorService executor;
    private String at = "";

    @Activate
    void activate(Config c) throws IOException {
        listen(c);
    }

    /** A new address or port moves the endpoint; nothing else is kept. */
    @Modified
    void modified(Config c) throws IOException {
        listen(c);
    }

    private synchronized void listen(Config c) throws IOException {
        String want = c.address() + ":" + c.port();
        if (want.equals(at)) {
            return;
        }
        stop();
        server = HttpServer.create(new InetSocketAddress(c.address(), c.port()), 16);
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "zgres-metrics");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        at = want;
        LOG.info("metrics on http://{}/metrics", want);
    }

    private void handle(HttpExchange x) throws IOException {
        try {
            if (!x.getRequestMethod().equals("GET") && !x.getRequestMethod().equals("HEAD")) {
                x.getResponseHeaders().set("Allow", "GET, HEAD");
                reply(x, 405, "text/plain", "read-only: GET or HEAD\n".getBytes());
                return;
            }
            if (!x.getRequestURI().getPath().equals("/metrics")) {
                reply(x, 404, "text/plain", "see /metrics\n".getBytes());
                return;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
            writer.write(out, Collector.collect(sources), EscapingScheme.DEFAULT);
            reply(x, 200, writer.getContentType(), out.toByteArray());
        } catch (RuntimeException e) {
            LOG.error("metrics: a scrape failed: {}", e.toString(), e);
            reply(x, 500, "text/plain", "internal error\n".getBytes());
        } finally {
            x.close();
        }
    }

    private static void reply(HttpExchange x, int code, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(code, head ? -1 : body.length);
        if (!head) {
            try (OutputStream o = x.getResponseBody()) {
                o.write(body);
            }
        }
    }

    private synchronized void stop() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
            server = null;
            at = "";
        }
    }

    @Deactivate
    void deactivate() {
        stop();
    }
}
