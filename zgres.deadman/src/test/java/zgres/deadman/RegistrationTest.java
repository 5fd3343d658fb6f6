package zgres.deadman;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;

import zgres.api.GroupState;
import zgres.api.NodeId;
import zgres.api.Role;

/**
 * A group of three real PostgreSQL 15 nodes registered in a real ZooKeeper: the first bootstraps with initdb, the
 * others clone with pg_basebackup; every znode and its JSON is checked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RegistrationTest {
    PgTestCluster c;
    Map<String, Object> n1;
    Map<String, Object> n2;
    Map<String, Object> n3;
    Deadman d1;
    Deadman d2;
    Deadman d3;

    @BeforeAll
    void start() throws Exception {
        c = new PgTestCluster("reg");
        n1 = c.nodeConfig("n1");
        n2 = c.nodeConfig("n2");
        n3 = c.nodeConfig("n3");
    }

    @AfterAll
    void stop() throws Exception {
        c.close();
    }

    NodeId id(Map<String, Object> n) {
        return new NodeId("reg", "127.0.0.1", (Integer) n.get("port"));
    }

    JsonNode json(String path) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.observer.getData().forPath(path));
    }

    @Test
    @Order(1)
    void firstNodeBootstrapsWithInitdbAndPublishesEveryZnode() throws Exception {
        d1 = c.start(n1);
        await().atMost(Duration.ofSeconds(60)).until(() -> c.snapshot().group("reg")
                .flatMap(GroupState::masterConn).isPresent());
        // The bootstrap publishes the lock, the timeline and then the db-id in separate writes: wait for the last.
        await().atMost(Duration.ofSeconds(10)).until(() -> c.observer.checkExists().forPath(c.paths.dbId("reg")) != null);
        NodeId id = id(n1);
        assertThat(new String(c.observer.getData().forPath(c.paths.lock("reg")), StandardCharsets.UTF_8))
                .isEqualTo(id.address());
        String dbId = new String(c.observer.getData().forPath(c.paths.dbId("reg")), StandardCharsets.UTF_8);
        assertThat(dbId).matches("[0-9]{10,}");
        assertThat(new String(c.observer.getData().forPath(c.paths.timeline("reg")), StandardCharsets.UTF_8))
                .isEqualTo("1");
        Stat lockStat = c.observer.checkExists().forPath(c.paths.lock("reg"));
        assertThat(lockStat.getEphemeralOwner()).isEqualTo(d1.sessionId());

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode st = json(c.paths.state(id));
            assertThat(st.get("role").asText()).isEqualTo("master");
            assertThat(st.get("state").asText()).isEqualTo("running");
            assertThat(st.get("healthy").asBoolean()).isTrue();
            assertThat(st.get("problems")).isEmpty();
            assertThat(st.get("timeline").asInt()).isEqualTo(1);
            assertThat(st.get("system_id").asText()).isEqualTo(dbId);
            assertThat(st.get("write_lsn").asText()).matches("[0-9A-F]+/[0-9A-F]+");
            assertThat(st.get("write_lsn_num").asLong()).isPositive();
            assertThat(st.get("tags").get("nofailover").asBoolean()).isFalse();
            assertThat(st.get("plugins").get("zgres.deadman").asText()).isEqualTo("test");
            assertThat(st.get("updated_at").asText()).endsWith("Z");
        });
        Stat stateStat = c.observer.checkExists().forPath(c.paths.state(id));
        assertThat(stateStat.getEphemeralOwner()).as("/state is ephemeral").isNotZero();
        JsonNode conn = json(c.paths.conn(id));
        assertThat(conn.get("host").asText()).isEqualTo("127.0.0.1");
        assertThat(conn.get("port").asInt()).isEqualTo(id.port());
        assertThat(conn.get("dbname").asText()).isEqualTo("postgres");
        assertThat(c.observer.checkExists().forPath(c.paths.conn(id)).getEphemeralOwner()).isNotZero();

        try (Connection db = PgTestCluster.connect(id.port()); Statement s = db.createStatement()) {
            s.execute("CREATE TABLE t (id int primary key, v text)");
            s.execute("INSERT INTO t VALUES (1, 'bootstrap')");
            try (ResultSet rs = s.executeQuery("SHOW data_checksums")) {
                rs.next();
                assertThat(rs.getString(1)).as("checksums, for pg_rewind").isEqualTo("on");
            }
        }
    }

    @Test
    @Order(2)
    void replicasCloneWithBasebackupAndStream() throws Exception {
        d2 = c.start(n2);
        d3 = c.start(n3);
        await().atMost(Duration.ofSeconds(90)).until(() -> c.snapshot().group("reg").map(g -> g.conns().size())
                .orElse(0) == 3);
        GroupState g = c.snapshot().group("reg").orElseThrow();
        for (NodeId r : new NodeId[] {id(n2), id(n3)}) {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                JsonNode st = json(c.paths.state(r));
                assertThat(st.get("role").asText()).isEqualTo("replica");
                assertThat(st.get("state").asText()).isEqualTo("streaming");
                assertThat(st.get("upstream").asText()).isEqualTo(id(n1).address());
                assertThat(st.get("receive_lsn_num").asLong()).isPositive();
            });
            assertThat(g.states().get(r).systemId()).isEqualTo(g.dbId());
            try (Connection db = PgTestCluster.connect(r.port()); Statement s = db.createStatement()) {
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    try (ResultSet rs = s.executeQuery("SELECT v FROM t WHERE id = 1")) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getString(1)).isEqualTo("bootstrap");
                    }
                });
                try (ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                    rs.next();
                    assertThat(rs.getBoolean(1)).isTrue();
                }
            }
        }
        assertThat(c.snapshot().group("reg").orElseThrow().states().get(id(n1)).role()).isEqualTo(Role.MASTER);
    }
}
