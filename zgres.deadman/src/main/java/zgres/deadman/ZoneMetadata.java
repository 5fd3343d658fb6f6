package zgres.deadman;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import zgres.api.deadman.MetadataProvider;
import zgres.api.deadman.NodeContext;

/**
 * The availability zone of this machine, from configuration or from a file (for example one written by cloud-init),
 * published as the metadata {@code zone}: it becomes the node's zone tag and its {@code /conn} zone.
 */
@Component(configurationPid = ZoneMetadata.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = ZoneMetadata.Config.class)
public class ZoneMetadata implements MetadataProvider {
    public static final String PID = "zgres.metadata.zone";

    @ObjectClassDefinition(name = "zgres zone", description = "Availability zone of this machine")
    public @interface Config {
        @AttributeDefinition(description = "Zone name")
        String zone() default "";

        @AttributeDefinition(description = "File whose first line is the zone (read at every check; wins when "
                + "present)")
        String zone__file() default "";
    }

    private volatile Config config;

    @Activate
    @Modified
    void configure(Config c) {
        this.config = c;
    }

    /** What a zone name may be: it is published in /state and /conn, so nothing else gets there this way. */
    static final java.util.regex.Pattern ZONE = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    @Override
    public Map<String, Object> metadata(NodeContext node) throws IOException {
        Config c = config;
        String zone = c.zone();
        String from = "zone";
        if (!c.zone__file().isBlank() && Files.isReadable(Path.of(c.zone__file()))) {
            String z;
            try (java.io.BufferedReader r = Files.newBufferedReader(Path.of(c.zone__file()))) {
                String line = r.readLine();
                z = line == null ? "" : line.strip();
            }
            if (!z.isEmpty()) {
                zone = z;
                from = c.zone__file();
            }
        }
        if (zone.isEmpty()) {
            return Map.of();
        }
        if (!ZONE.matcher(zone).matches()) {
            // never publish what is not a zone name (a file holding something else, e.g. a password)
            throw new IOException("the zone from " + from + " is not a zone name (1 to 64 of A-Z a-z 0-9 . _ -, "
                    + "starting with a letter or digit): not published");
        }
        return Map.of("zone", zone);
    }
}
