package zgres.deadman;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The enumerated settings have their options in two places the compiler cannot tie together: the metatype
 * ({@code @Option}s, which the validator enforces) and {@link ConfigOptions} (which the code parses with). This reads
 * the metatype bnd generated and checks that both say the same, for both configurations that carry the settings.
 */
class ConfigOptionsTest {

    static List<String> options(String ocd, String attribute) throws Exception {
        try (InputStream in = ConfigOptionsTest.class.getResourceAsStream("/OSGI-INF/metatype/" + ocd + ".xml")) {
            assertThat(in).as("generated metatype of " + ocd).isNotNull();
            Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(in);
            NodeList ads = d.getElementsByTagName("AD");
            for (int i = 0; i < ads.getLength(); i++) {
                Element ad = (Element) ads.item(i);
                if (ad.getAttribute("id").equals(attribute)) {
                    List<String> values = new ArrayList<>();
                    NodeList opts = ad.getElementsByTagName("Option");
                    for (int j = 0; j < opts.getLength(); j++) {
                        values.add(((Element) opts.item(j)).getAttribute("value"));
                    }
                    return values;
                }
            }
        }
        throw new AssertionError(attribute + " is not in the metatype of " + ocd);
    }

    static List<String> names(Enum<?>[] values) {
        return Arrays.stream(values).map(Enum::name).toList();
    }

    @Test
    void theMetatypeOptionsAreTheParsedOptions() throws Exception {
        for (String ocd : List.of("zgres.deadman.DeadmanComponent$Config", "zgres.deadman.ClusterSettings$Config")) {
            assertThat(options(ocd, "synchronous_mode")).as(ocd).isEqualTo(names(
                    ConfigOptions.SynchronousMode.values()));
            assertThat(options(ocd, "rewind_failure")).as(ocd).isEqualTo(names(ConfigOptions.RewindFailure.values()));
        }
    }
}
