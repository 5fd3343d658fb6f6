package zgres.deadman.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.NodeState;
import zgres.api.Role;
import zgres.api.Tags;

/** The health checks' answers over real HTTP, for each state a node publishes (the deadman is faked here). */
class HealthServerTest {
    static final NodeId ME = NodeId.parse("g_127.0.0.1:5432");
    final HttpClient http = HttpClient.newHttpClient();

    static NodeState state(Role role, NodePhase phase, long lag, List<String> problems) {
        return new NodeState(ME, role, phase, "", problems, 1, Lsn.of(100), Lsn.of(100), Lsn.ZERO, lag, "7",
                Tags.NONE, false, Map.of(), Map.of(), Instant.now());
    }

    int get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void eachCheckAnswersForTheStateThisNodeIsIn() throws Exception {
        AtomicReference<HealthServer.Health> h = new AtomicReference<>(new HealthServer.Health(Optional.of(
                state(Role.MASTER, NodePhase.RUNNING, 0, List.of())), true, 100, 1000));
        try (HealthServer s = new HealthServer("test", "127.0.0.1", 0, h::get)) {
            int p = s.port();
            assertThat(get(p, "/master")).isEqualTo(200);
            assertThat(get(p, "/primary")).isEqualTo(200);
            assertThat(get(p, "/replica")).isEqualTo(503);
            assertThat(get(p, "/health")).isEqualTo(200);
            assertThat(get(p, "/readiness")).isEqualTo(200);
            assertThat(get(p, "/liveness")).isEqualTo(200);
            // a master whose lease ran out is no master, whatever it published
            h.set(new HealthServer.Health(h.get().state(), false, 100, 1000));
            assertThat(get(p, "/master")).isEqualTo(503);
            // a streaming replica 500 bytes behind: within the default 1000, not within ?lag=100
            h.set(new HealthServer.Health(Optional.of(state(Role.REPLICA, NodePhase.STREAMING, 500, List.of())), false,
                    100, 1000));
            assertThat(get(p, "/replica")).isEqualTo(200);
            assertThat(get(p, "/replica?lag=100")).isEqualTo(503);
            assertThat(get(p, "/replica?lag=abc")).isEqualTo(400);
            assertThat(get(p, "/master")).isEqualTo(503);
            // a replica with a problem is not ready; a loop that stopped turning is not alive
            h.set(new HealthServer.Health(Optional.of(state(Role.REPLICA, NodePhase.STREAMING, 0, List.of("veto"))),
                    false, 60_000, 1000));
            assertThat(get(p, "/replica")).isEqualTo(503);
            assertThat(get(p, "/readiness")).isEqualTo(503);
            assertThat(get(p, "/liveness")).isEqualTo(503);
            assertThat(get(p, "/nothing")).isEqualTo(404);
            // read-only
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p
                    + "/master")).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers
                            .ofString());
            assertThat(post.statusCode()).isEqualTo(405);
            HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p
                    + "/status")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(status.statusCode()).isEqualTo(200);
            assertThat(status.body()).contains("\"role\":\"replica\"").contains("\"problems\":[\"veto\"]")
                    .contains("\"lease_valid\":false");
        }
    }
}
