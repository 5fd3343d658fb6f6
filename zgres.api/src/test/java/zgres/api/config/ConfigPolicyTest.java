package zgres.api.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What ZooKeeper may configure: every case of the rule, with the reason a refusal gives. */
class ConfigPolicyTest {

    static Stream<Arguments> keys() {
        return Stream.of(
                // allowed: tuning
                Arguments.of("zgres.deadman~main", "priority", null),
                Arguments.of("zgres.deadman~main", "maximum_lag_on_failover", null),
                Arguments.of("zgres.deadman.cluster", "synchronous_mode", null),
                Arguments.of("zgres.sync", "debounce_ms", null),
                Arguments.of("zgres.plugin.apply~x", "timeout_ms", null),
                Arguments.of("zgres.plugin.haproxy~edge", "same_zone_weight", null),
                Arguments.of("zgres.metadata.zone", "zone", null),
                Arguments.of("com.example.thing", "refresh_ms", null),
                // programs, files, users
                Arguments.of("zgres.plugin.apply~x", "executables", "it names a program"),
                Arguments.of("zgres.plugin.apply~x", "path", "it names a file or directory"),
                Arguments.of("zgres.plugin.pgbouncer~app", "pgbouncer_bin", "it names a program"),
                Arguments.of("zgres.plugin.pgbouncer~app", "run_as", "it names an OS user"),
                Arguments.of("zgres.plugin.haproxy~edge", "work_dir", "it names a file or directory"),
                Arguments.of("zgres.plugin.haproxy~edge", "manage", "it makes this runtime start a program"),
                Arguments.of("zgres.metadata.zone", "zone_file", "it names a file or directory"),
                Arguments.of("zgres.deadman~main", "data_dir", "it names a file or directory"),
                Arguments.of("zgres.deadman~main", "pg_bin", "it names a program"),
                Arguments.of("zgres.deadman~main", "pg_parameters", "archive_command"),
                Arguments.of("zgres.deadman~main", "pg_hba", "it changes who may connect or how"),
                Arguments.of("zgres.deadman~main", "host", "it is the node's identity"),
                Arguments.of("zgres.plugin.pghba~n1", "method", "it changes who may connect or how"),
                // secrets, anywhere
                Arguments.of("zgres.deadman~main", "superuser_password", "it is a secret"),
                Arguments.of("zgres.plugin.pgbouncer~app", "auth_users", "it is a secret"),
                Arguments.of("com.example.thing", "api_token", "it is a secret"),
                // unknown PIDs: by the name
                Arguments.of("com.example.thing", "cache_dir", "it names a file or directory"),
                Arguments.of("com.example.thing", "hook_command", "it names a program"),
                Arguments.of("com.example.thing", "service_user", "it names an OS user"),
                // a key a known PID does not have
                Arguments.of("zgres.sync", "debounce", "is not a key of zgres.sync"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("keys")
    void theRuleForAKey(String pid, String key, String why) {
        Optional<String> r = ConfigPolicy.localOnlyKey(pid, key);
        if (why == null) {
            assertThat(r).as(pid + " " + key).isEmpty();
        } else {
            assertThat(r).as(pid + " " + key).hasValueSatisfying(m -> assertThat(m).contains(pid).contains(key)
                    .contains(why));
        }
    }

    @Test
    void wholePidsAndNewFactoryInstances() {
        assertThat(ConfigPolicy.localOnlyPid("zgres.zookeeper", true)).hasValueSatisfying(m -> assertThat(m)
                .contains("reaches and authenticates to ZooKeeper"));
        assertThat(ConfigPolicy.localOnlyPid("zgres.config", true)).isPresent();
        assertThat(ConfigPolicy.localOnlyPid("zgres.plugin.apply~x", false)).hasValueSatisfying(m -> assertThat(m)
                .contains("comes only from a local file"));
        assertThat(ConfigPolicy.localOnlyPid("zgres.deadman~n9", false)).isPresent();
        assertThat(ConfigPolicy.localOnlyPid("zgres.plugin.apply~x", true)).as("defined locally: tunable").isEmpty();
        assertThat(ConfigPolicy.localOnlyPid("zgres.deadman.cluster", false)).isEmpty();
        assertThat(ConfigPolicy.localOnlyPid("zgres.sync", false)).isEmpty();
    }

    @Test
    void everyKnownKeyIsClassified() {
        ConfigPolicy.KNOWN.forEach((pid, keys) -> keys.keySet().forEach(k -> assertThat(ConfigPolicy.localOnlyKey(pid,
                k).map(m -> m.contains("is not a key"))).as(pid + " " + k).isNotEqualTo(Optional.of(true))));
    }
}
