package zgres.config.internal;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.metatype.AttributeDefinition;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.ObjectClassDefinition;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import zgres.api.config.ConfigValidator;
import zgres.api.config.ConfigValues;
import zgres.zookeeper.Znodes;

/**
 * The one validator of configuration values ({@link ConfigValidator}): the metatype of the bundle that owns a PID
 * is the single source of its rules (types, {@code min}, {@code max}, options, required keys). Used by the local
 * configuration file, the {@code /config} bridge and the shell.
 */
@Component(service = ConfigValidator.class)
public class MetatypeValidator implements ConfigValidator {
    private final BundleContext context;
    private final MetaTypeService metatype;

    @Activate
    public MetatypeValidator(BundleContext context, @Reference MetaTypeService metatype) {
        this.context = context;
        this.metatype = metatype;
    }

    @Override
    public boolean knows(String pid) {
        return find(context, metatype, pid).isPresent();
    }

    @Override
    public List<String> validate(String pid, Map<String, Object> properties, boolean complete) {
        return find(context, metatype, pid).map(o -> validate(o, pid, properties, complete)).orElse(List.of());
    }

    @Override
    public Optional<Object> parse(String pid, String key, String text) {
        Optional<AttributeDefinition> ad = attribute(find(context, metatype, pid), key);
        return ad.isEmpty() ? Optional.empty() : Optional.of(parse(ad, key, text));
    }

    /** @return the factory PID of {@code name~x}, else the PID itself */
    static String basePid(String pid) {
        int t = pid.indexOf('~');
        return t < 0 ? pid : pid.substring(0, t);
    }

    /** @return the metatype describing {@code pid} (a PID or a named factory configuration), if a bundle has one */
    static Optional<ObjectClassDefinition> find(BundleContext context, MetaTypeService metatype, String pid) {
        if (metatype == null) {
            return Optional.empty();
        }
        boolean factory = pid.contains("~");
        String base = basePid(pid);
        for (Bundle b : context.getBundles()) {
            if (b.getState() == Bundle.UNINSTALLED) {
                continue;
            }
            MetaTypeInformation info;
            try {
                info = metatype.getMetaTypeInformation(b);
            } catch (RuntimeException e) {
                continue;
            }
            if (info == null) {
                continue;
            }
            List<String> ids = Arrays.asList(factory ? info.getFactoryPids() : info.getPids());
            if (ids.contains(base)) {
                return Optional.ofNullable(info.getObjectClassDefinition(base, null));
            }
        }
        return Optional.empty();
    }

    /**
     * @param complete the properties are the whole configuration (required keys must be there); false for a layer
     * @return one message per problem: {@code pid: key = value: reason}
     */
    static List<String> validate(ObjectClassDefinition ocd, String pid, Map<String, Object> props, boolean complete) {
        List<String> errors = new ArrayList<>();
        AttributeDefinition[] all = ocd.getAttributeDefinitions(ObjectClassDefinition.ALL);
        Set<String> known = new TreeSet<>();
        for (AttributeDefinition ad : all) {
            known.add(ad.getID());
        }
        AttributeDefinition[] required = ocd.getAttributeDefinitions(ObjectClassDefinition.REQUIRED);
        for (AttributeDefinition ad : all) {
            Object v = props.get(ad.getID());
            if (v == null) {
                boolean isRequired = required != null && Arrays.stream(required).anyMatch(r -> r.getID().equals(
                        ad.getID()));
                if (complete && isRequired && ad.getDefaultValue() == null) {
                    errors.add(pid + ": " + ad.getID() + " is required (" + ad.getDescription() + ")");
                }
                continue;
            }
            List<String> values = values(v);
            if (ad.getCardinality() == 0 && v.getClass().isArray() && values.size() != 1) {
                errors.add(pid + ": " + ad.getID() + " = " + values + ": takes a single value");
                continue;
            }
            for (String s : values) {
                typeError(ad, s).or(() -> reason(ad, s)).ifPresent(r -> errors.add(pid + ": " + ad.getID() + " = '"
                        + s + "': " + r));
            }
        }
        for (String k : props.keySet()) {
            if (!known.contains(k) && !k.contains(".")) {
                errors.add(pid + ": " + k + " is not a key of " + ocd.getName() + " (keys: " + String.join(", ", known)
                        + ")");
            }
        }
        return errors;
    }

    private static Optional<String> reason(AttributeDefinition ad, String s) {
        String r = ad.validate(s);
        return r == null || r.isEmpty() ? Optional.empty() : Optional.of(r);
    }

    private static Optional<String> typeError(AttributeDefinition ad, String s) {
        try {
            switch (ad.getType()) {
                case AttributeDefinition.INTEGER -> Integer.parseInt(s.trim());
                case AttributeDefinition.LONG -> Long.parseLong(s.trim());
                case AttributeDefinition.SHORT -> Short.parseShort(s.trim());
                case AttributeDefinition.BYTE -> Byte.parseByte(s.trim());
                case AttributeDefinition.DOUBLE -> Double.parseDouble(s.trim());
                case AttributeDefinition.FLOAT -> Float.parseFloat(s.trim());
                case AttributeDefinition.BOOLEAN -> {
                    if (!s.trim().equalsIgnoreCase("true") && !s.trim().equalsIgnoreCase("false")) {
                        return Optional.of("not a boolean (true or false)");
                    }
                }
                default -> {
                    // strings and others
                }
            }
            return Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.of("not a number of type " + typeName(ad.getType()));
        }
    }

    static List<String> values(Object v) {
        List<String> l = new ArrayList<>();
        if (v.getClass().isArray()) {
            for (int i = 0; i < Array.getLength(v); i++) {
                l.add(String.valueOf(Array.get(v, i)));
            }
        } else if (v instanceof java.util.Collection<?> c) {
            c.forEach(x -> l.add(String.valueOf(x)));
        } else {
            l.add(String.valueOf(v));
        }
        return l;
    }

    static String typeName(int type) {
        return switch (type) {
            case AttributeDefinition.INTEGER -> "Integer";
            case AttributeDefinition.LONG -> "Long";
            case AttributeDefinition.SHORT -> "Short";
            case AttributeDefinition.BYTE -> "Byte";
            case AttributeDefinition.DOUBLE -> "Double";
            case AttributeDefinition.FLOAT -> "Float";
            case AttributeDefinition.BOOLEAN -> "Boolean";
            default -> "String";
        };
    }

    /** Parses {@code key=value} text of the shell into the attribute's type (comma-separated for arrays). */
    static Object parse(Optional<AttributeDefinition> ad, String key, String text) {
        if (ad.isEmpty()) {
            return ConfigValues.guess(text);
        }
        String type = typeName(ad.get().getType());
        if (ad.get().getCardinality() != 0) {
            String[] parts = text.isEmpty() ? new String[0] : text.split(",");
            Object[] out = switch (type) {
                case "Integer" -> new Integer[parts.length];
                case "Long" -> new Long[parts.length];
                case "Boolean" -> new Boolean[parts.length];
                case "Double" -> new Double[parts.length];
                default -> new String[parts.length];
            };
            for (int i = 0; i < parts.length; i++) {
                out[i] = Znodes.parseConfigValue(key, type.equals("String") ? parts[i] : parts[i].trim(),
                        out.getClass().getComponentType().getSimpleName());
            }
            return out;
        }
        return Znodes.parseConfigValue(key, text, switch (type) {
            case "Short", "Byte" -> "Integer";
            default -> type;
        });
    }

    static Optional<AttributeDefinition> attribute(Optional<ObjectClassDefinition> ocd, String key) {
        return ocd.flatMap(o -> Arrays.stream(o.getAttributeDefinitions(ObjectClassDefinition.ALL))
                .filter(a -> a.getID().equals(key)).findFirst());
    }
}
