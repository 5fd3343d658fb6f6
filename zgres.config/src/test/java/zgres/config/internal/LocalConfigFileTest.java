package zgres.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local configuration file: the Configurator's format, its header optional, templates filled in. */
class LocalConfigFileTest {
    @TempDir
    Path dir;

    @Test
    void aFileWithoutTheConfiguratorHeaderIsReadWithItsTypes() throws Exception {
        Path f = dir.resolve("node.json");
        Files.writeString(f, """
                // a comment
                { "zgres.zookeeper": { "connect": "10.0.0.1:2181" },
                  "zgres.deadman~main": { "group": "g", "port:Integer": "5432", "pg_parameters": ["a = 1"] } }
                """);
        Map<String, Map<String, Object>> c = LocalConfigFile.read(f, k -> null);
        assertThat(c).containsOnlyKeys("zgres.zookeeper", "zgres.deadman~main");
        assertThat(c.get("zgres.deadman~main").get("port")).isEqualTo(5432);
        assertThat((String[]) c.get("zgres.deadman~main").get("pg_parameters")).containsExactly("a = 1");
    }

    @Test
    void aTemplateIsFilledInFromPropertiesAndAMissingOneIsNamed() throws Exception {
        Path f = dir.resolve("t.json");
        Files.writeString(f, "{ \"zgres.zookeeper\": { \"embedded_port:Integer\": \"${zgres.t.port}\", "
                + "\"embedded_data_dir\": \"${zgres.t.dir}/zk\" } }");
        Map<String, String> props = Map.of("zgres.t.port", "52181", "zgres.t.dir", "/tmp/a \"b\"");
        Map<String, Object> zk = LocalConfigFile.read(f, props::get).get("zgres.zookeeper");
        assertThat(zk.get("embedded_port")).isEqualTo(52181);
        assertThat(zk.get("embedded_data_dir")).as("quoted as JSON string content").isEqualTo("/tmp/a \"b\"/zk");
        assertThatThrownBy(() -> LocalConfigFile.read(f, k -> null)).hasMessageContaining("zgres.t.port")
                .hasMessageContaining("not set");
    }

    @Test
    void anUnreadableFileOrABadPidIsAnError() throws Exception {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{ \"zgres.zookeeper\": ");
        assertThatThrownBy(() -> LocalConfigFile.read(f, k -> null)).isInstanceOf(IllegalArgumentException.class);
        Files.writeString(f, "{ \"no spaces allowed\": {} }");
        assertThatThrownBy(() -> LocalConfigFile.read(f, k -> null)).hasMessageContaining("not a configuration PID");
    }
}
