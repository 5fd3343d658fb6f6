package zgres.deadman.http;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;

/**
 * A deadman's read-only HTTP health checks, for load balancers (HAProxy {@code option httpchk GET /master}) and
 * orchestrators' probes, as Patroni serves them:
 *
 * <ul>
 * <li>{@code GET /master} (also {@code /primary}): 200 only while this node holds the lock with a valid lease and its
 * PostgreSQL runs as the primary, else 503;
 * <li>{@code GET /replica[?lag=BYTES]}: 200 for a healthy replica streaming within {@code maximum_lag_on_failover}
 * (or the given lag), else 503;
 * <li>{@code GET /health}: 200 while PostgreSQL runs and answers, whatever its role;
 * <li>{@code GET /liveness}: 200 while the deadman's loop turns (it decided within the last 10 s);
 * <li>{@code GET /readiness}: 200 while the node serves: the master, or a healthy replica;
 * <li>{@code GET /} or {@code /status}: the node's state as JSON (also sent with every answer above).
 * </ul>
 * Anything but GET and HEAD is refused (405). The JDK's own HTTP server (no container to start: a few endpoints that
 * read one immutable value), on a daemon thread.
 */
public final class HealthServer implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(HealthServer.class);
    /** how long the loop may go without deciding before liveness fails */
    static final long LIVENESS_MS = 10_000;

    /**
     * What the checks read: the state this node published last, and what only the deadman knows.
     *
     * @param state the state last published (empty before the first)
     * @param leaseValid this node holds the lock with a lease that has not run out
     * @param lastCycleAgeMs how long ago the loop last decided
     * @param maximumLag the lag (bytes) a replica may have and still count
     */
    public record Health(java.util.Optional<NodeState> state, boolean leaseValid, long lastCycleAgeMs,
            long maximumLag) {
    }

    private final HttpServer server;
    private final java.util.concurrent.ExecutorService executor;
    private final Supplier<Health> health;
    private final String name;

    public HealthServer(String name, String address, int port, Supplier<Health> health) throws IOException {
        this.name = name;
        this.health = health;
        this.server = HttpServer.create(new InetSocketAddress(address, port), 16);
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "zgres-http-" + name);
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        LOG.info("[{}] health checks on http://{}:{}/ (master, replica, health, liveness, readiness, status)", name,
                address, server.getAddress().getPort());
    }

    /** @return the port it listens on */
    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange x) throws IOException {
        try {
            respond(x);
        } finally {
            x.close();
        }
    }

    private void respond(HttpExchange x) throws IOException {
        try {
            String method = x.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                x.getResponseHeaders().set("Allow", "GET, HEAD");
                send(x, 405, "{\"error\":\"read-only: GET or HEAD\"}");
                return;
            }
            Health h = health.get();
            URI uri = x.getRequestURI();
            String path = uri.getPath();
            Integer code = switch (path) {
                case "/master", "/primary", "/read-write" -> master(h) ? 200 : 503;
                case "/replica" -> replica(h, lag(uri.getRawQuery(), h.maximumLag())) ? 200 : 503;
                case "/health" -> running(h) ? 200 : 503;
                case "/liveness" -> h.lastCycleAgeMs() < LIVENESS_MS ? 200 : 503;
                case "/readiness" -> master(h) || replica(h, h.maximumLag()) ? 200 : 503;
                case "/", "/status" -> 200;
                default -> null;
            };
            if (code == null) {
                send(x, 404, "{\"error\":\"no such check: /master, /replica, /health, /liveness, /readiness, "
                        + "/status\"}");
                return;
            }
            send(x, code, status(h));
        } catch (IllegalArgumentException e) {
            send(x, 400, "{\"error\":" + quote(e.getMessage()) + "}");
        } catch (RuntimeException e) {
            LOG.error("[{}] health check {} failed: {}", name, x.getRequestURI(), e.toString(), e);
            send(x, 500, "{\"error\":\"internal\"}");
        }
    }

    static boolean master(Health h) {
        return h.leaseValid() && h.state().filter(s -> s.role() == Role.MASTER && s.phase() == NodePhase.RUNNING)
                .isPresent();
    }

    static boolean replica(Health h, long maxLag) {
        return h.state().filter(s -> s.role() == Role.REPLICA && s.phase() == NodePhase.STREAMING
                && s.problems().isEmpty() && s.lagBytes() >= 0 && s.lagBytes() <= maxLag).isPresent();
    }

    static boolean running(Health h) {
        return h.state().filter(s -> (s.role() == Role.MASTER || s.role() == Role.REPLICA)
                && (s.phase() == NodePhase.RUNNING || s.phase() == NodePhase.STREAMING)).isPresent();
    }

    /** @return the {@code lag} query parameter (bytes, a non-negative number), else {@code dflt} */
    static long lag(String query, long dflt) {
        if (query == null || query.isEmpty()) {
            return dflt;
        }
        for (String kv : query.split("&")) {
            if (kv.startsWith("lag=")) {
                String v = kv.substring(4);
                if (!v.matches("[0-9]{1,18}")) {
                    throw new IllegalArgumentException("lag must be a number of bytes, not '" + v + "'");
                }
                return Long.parseLong(v);
            }
        }
        return dflt;
    }

    static String status(Health h) {
        Map<String, Object> m = new LinkedHashMap<>();
        h.state().ifPresent(s -> {
            m.put("node", s.id().toString());
            m.put("role", s.role().name().toLowerCase());
            m.put("state", s.phase().name().toLowerCase());
            m.put("timeline", s.timeline());
            m.put("receive_lsn", s.receiveLsn().toString());
            m.put("replay_lsn", s.replayLsn().toString());
            m.put("write_lsn", s.writeLsn().toString());
            m.put("lag_bytes", s.lagBytes());
            m.put("upstream", s.upstream());
            m.put("problems", s.problems());
        });
        m.put("lease_valid", h.leaseValid());
        m.put("master", master(h));
        m.put("replica", replica(h, h.maximumLag()));
        m.put("last_cycle_ms_ago", h.lastCycleAgeMs());
        StringBuilder b = new StringBuilder("{");
        m.forEach((k, v) -> {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append(quote(k)).append(':');
            if (v instanceof Number || v instanceof Boolean) {
                b.append(v);
            } else if (v instanceof java.util.List<?> l) {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    b.append(i > 0 ? "," : "").append(quote(String.valueOf(l.get(i))));
                }
                b.append(']');
            } else {
                b.append(quote(String.valueOf(v)));
            }
        });
        return b.append('}').toString();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private static void send(HttpExchange x, int code, String body) throws IOException {
        byte[] bytes = (body + "\n").getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", "application/json");
        x.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(code, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream o = x.getResponseBody()) {
                o.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        LOG.info("[{}] health checks stopped", name);
    }
}
