package zgres.config.internal;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.json.Json;
import jakarta.json.JsonException;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;

import org.apache.felix.cm.json.io.ConfigurationReader;
import org.apache.felix.cm.json.io.ConfigurationResource;
import org.apache.felix.cm.json.io.Configurations;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.config.ConfigValidator;

/**
 * The runtime's local configuration: the file named by the framework property {@value #PROPERTY} (what
 * {@code ./zgres node --config FILE} passes), in the OSGi Configurator's JSON format (read with Felix cm.json; the
 * {@code :configurator:} header is optional). Each PID in it is written to Config Admin through the one precedence
 * rule ({@link ConfigWriter}: its keys win over ZooKeeper's). A file may be a template: {@code ${zgres.…}} is replaced
 * by that framework or system property (the checked-in templates of {@code ./zgres demo}, {@code ctl} and
 * {@code zookeeper} use it). A PID whose values its bundle's metatype rejects — a key it does not know, a value out
 * of range — is not applied, with an error naming the file, the PID, the key and the reason.
 *
 * <p>The file is checked every second; an edit is applied without a restart, all or nothing: when any PID of the
 * edited file is rejected (or the file cannot be read), nothing of the edit is applied and every component keeps its
 * configuration.
 */
@Component(immediate = true)
public class LocalConfigFile {
    public static final String PROPERTY = "zgres.config.file";
    /** how often the file is checked for changes */
    static final long CHECK_MS = 1000;
    private static final Logger LOG = LoggerFactory.getLogger(LocalConfigFile.class);
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{(zgres\\.[A-Za-z0-9_.-]+)\\}");

    private final BundleContext context;
    private final ConfigValidator validator;
    private final ConfigWriter writer;
    private final Path path;
    private final ScheduledExecutorService watcher;
    private volatile FileTime applied;
    private boolean first = true;

    @Activate
    public LocalConfigFile(BundleContext context, @Reference ConfigurationAdmin cm,
            @Reference ConfigValidator validator) {
        this.context = context;
        this.validator = validator;
        this.writer = new ConfigWriter(cm, validator);
        String file = context.getProperty(PROPERTY);
        this.path = file == null || file.isBlank() ? null : Path.of(file);
        if (path == null) {
            watcher = null;
            return;
        }
        apply();
        // an edit of the file is applied without a restart
        watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "zgres-local-config");
            t.setDaemon(true);
            return t;
        });
        watcher.scheduleWithFixedDelay(this::applyIfChanged, CHECK_MS, CHECK_MS, TimeUnit.MILLISECONDS);
    }

    @Deactivate
    void deactivate() {
        if (watcher != null) {
            watcher.shutdownNow();
        }
        writer.close();
    }

    private void applyIfChanged() {
        try {
            FileTime t = Files.getLastModifiedTime(path);
            if (!t.equals(applied)) {
                LOG.info("config: {} changed", path);
                apply();
            }
        } catch (IOException e) {
            LOG.debug("config: cannot check {}: {}", path, e.toString());
        } catch (RuntimeException e) {
            LOG.error("config: applying {} failed: {}", path, e.toString(), e);
        }
    }

    /** Reads the file and writes every PID it holds that its bundle's metatype accepts. */
    private synchronized void apply() {
        Map<String, Map<String, Object>> pids;
        try {
            applied = Files.getLastModifiedTime(path);
            pids = read(path, context::getProperty);
        } catch (IOException | IllegalArgumentException e) {
            LOG.error("config: cannot read the local configuration {}: {} (nothing applied from it)", path,
                    e.getMessage());
            first = false;
            return;
        }
        Map<String, Map<String, Object>> valid = new TreeMap<>();
        boolean rejected = false;
        for (Map.Entry<String, Map<String, Object>> e : pids.entrySet()) {
            List<String> errors = validator.validate(e.getKey(), e.getValue(), true);
            if (errors.isEmpty()) {
                valid.put(e.getKey(), e.getValue());
            } else {
                rejected = true;
                LOG.error("config: {} in {} is not applied: {}", e.getKey(), path, String.join("; ", errors));
            }
        }
        if (rejected && !first) {
            LOG.error("config: the edit of {} is not applied: every component keeps its configuration", path);
            return;
        }
        first = false;
        try {
            writer.fromLocalFile(valid, path.toString());
            LOG.info("config: applied {} configuration(s) from {}", valid.size(), path);
        } catch (IOException | InvalidSyntaxException e) {
            LOG.error("config: could not apply {}: {}", path, e.toString());
        }
    }

    /** Reads a local configuration file: PID (or {@code factory~name}) to properties. */
    static Map<String, Map<String, Object>> read(Path path, java.util.function.Function<String, String> properties)
            throws IOException {
        String text = substitute(Files.readString(path, StandardCharsets.UTF_8), properties, path);
        JsonObject json;
        try (JsonReader r = Json.createReader(Configurations.jsonCommentAwareReader(new StringReader(text)))) {
            json = r.readObject();
        } catch (JsonException | IllegalStateException e) {
            throw new IllegalArgumentException("not a JSON object: " + e.getMessage());
        }
        // the Configurator's header is optional in a local file
        String h = ConfigurationResource.CONFIGURATOR_PROPERTY_PREFIX;
        jakarta.json.JsonObjectBuilder b = Json.createObjectBuilder(json);
        if (!json.containsKey(h + "resource-version")) {
            b.add(h + "resource-version", 1);
        }
        if (!json.containsKey(h + "symbolic-name")) {
            b.add(h + "symbolic-name", "zgres.local");
        }
        if (!json.containsKey(h + "version")) {
            b.add(h + "version", "1.0.0");
        }
        json = b.build();
        ConfigurationReader reader = Configurations.buildReader().verifyAsBundleResource(false)
                .withIdentifier(path.toString()).build(json);
        ConfigurationResource resource = reader.readConfigurationResource();
        if (!reader.getIgnoredErrors().isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", reader.getIgnoredErrors()));
        }
        Map<String, Map<String, Object>> out = new TreeMap<>();
        resource.getConfigurations().forEach((pid, props) -> {
            ConfigLayers.checkPid(pid);
            Map<String, Object> m = new TreeMap<>();
            Collections.list(props.keys()).forEach(k -> m.put(k, props.get(k)));
            out.put(pid, m);
        });
        return out;
    }

    /** Replaces every {@code ${zgres.name}} with that property, as JSON string content; a missing one is an error. */
    static String substitute(String text, java.util.function.Function<String, String> properties, Path path) {
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder sb = new StringBuilder();
        List<String> missing = new ArrayList<>();
        while (m.find()) {
            String v = properties.apply(m.group(1));
            if (v == null) {
                missing.add(m.group(1));
                v = "";
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(v.replace("\\", "\\\\").replace("\"", "\\\"")));
        }
        m.appendTail(sb);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(path + " refers to properties that are not set: " + missing);
        }
        return sb.toString();
    }
}
