package zgres.deadman.pg;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ConfigFilesTest {
    @Test
    void autoConfReplacesAppendsAndRemovesKeepingOtherLines() {
        String text = "# Do not edit\nwork_mem = '4MB'\nprimary_conninfo = 'host=a'\n";
        Map<String, String> s = new LinkedHashMap<>();
        s.put("primary_conninfo", "host=b user='x'");
        s.put("recovery_target_timeline", "latest");
        s.put("work_mem", null);
        String out = AutoConf.apply(text, s);
        assertThat(out).isEqualTo("# Do not edit\nprimary_conninfo = 'host=b user=''x'''\n"
                + "recovery_target_timeline = 'latest'\n");
        assertThat(AutoConf.get(out, "primary_conninfo")).isEqualTo("host=b user='x'");
    }

    @Test
    void controlDataIsParsed() throws Exception {
        ControlData c = ControlData.parse("""
                pg_control version number:            1300
                Database system identifier:           7311528935871018004
                Database cluster state:               in production
                Latest checkpoint's TimeLineID:       3
                """);
        assertThat(c.systemId()).isEqualTo("7311528935871018004");
        assertThat(c.timeline()).isEqualTo(3);
        assertThat(c.wasPrimary()).isTrue();
        assertThat(new ControlData("1", "shut down in recovery", 1).wasPrimary()).isFalse();
        assertThat(new ControlData("1", "shut down", 1).cleanShutdown()).isTrue();
    }

    @Test
    void theUpstreamOfAConninfoIsItsHostAndPort() {
        assertThat(Libpq.upstreamOf("host='10.0.0.2' port=5433 user='replicator' passfile='/x/y'"))
                .isEqualTo("10.0.0.2:5433");
        assertThat(Libpq.upstreamOf("user=a host=h")).isEqualTo("h:5432");
        assertThat(Libpq.upstreamOf("")).isEmpty();
    }
}
