package zgres.zookeeper.internal;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;


/**
 * The JSON of a {@code /config/{scope}/{pid}} znode: an object of properties. Values keep their JSON type (string,
 * integer, number, boolean, array); a key may name its Config Admin type the way the OSGi Configurator does
 * ({@code "port:Integer": "6432"}, {@code "hosts:String[]": ["a", "b"]}).
 */
public final class ConfigJson {
    private ConfigJson() {}

    /** @throws IllegalArgumentException naming the key and the reason when the JSON or a value is unusable */
    public static Map<String, Object> parse(byte[] data) {
        JsonNode root = JsonCodec.object(data);
        Map<String, Object> out = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            String type = "";
            int colon = key.indexOf(':');
            if (colon > 0) {
                type = key.substring(colon + 1);
                key = key.substring(0, colon);
            }
            if (key.isBlank()) {
                throw new IllegalArgumentException("empty key");
            }
            out.put(key, convert(key, e.getValue(), type));
        }
        return out;
    }

    private static Object convert(String key, JsonNode v, String type) {
        if (type.isEmpty()) {
            if (v.isArray()) {
                List<String> l = new ArrayList<>();
                v.forEach(x -> l.add(x.isTextual() ? x.asText() : x.toString()));
                return l.toArray(String[]::new);
            }
            if (v.isBoolean()) {
                return v.booleanValue();
            }
            if (v.isIntegralNumber()) {
                return v.canConvertToInt() ? (Object) v.intValue() : (Object) v.longValue();
            }
            if (v.isNumber()) {
                return v.doubleValue();
            }
            if (v.isTextual()) {
                return v.asText();
            }
            throw new IllegalArgumentException(key + ": " + v + " is neither a string, a number, a boolean nor an "
                    + "array");
        }
        boolean array = type.endsWith("[]");
        String element = array ? type.substring(0, type.length() - 2) : type;
        if (array) {
            if (!v.isArray()) {
                throw new IllegalArgumentException(key + ": type " + type + " needs a JSON array, not " + v);
            }
            List<Object> l = new ArrayList<>();
            v.forEach(x -> l.add(scalar(key, x.isTextual() ? x.asText() : x.toString(), element)));
            return switch (element) {
                case "String" -> l.toArray(String[]::new);
                case "Integer" -> l.toArray(Integer[]::new);
                case "Long" -> l.toArray(Long[]::new);
                case "Boolean" -> l.toArray(Boolean[]::new);
                case "Double" -> l.toArray(Double[]::new);
                default -> throw new IllegalArgumentException(key + ": unknown type " + type);
            };
        }
        return scalar(key, v.isTextual() ? v.asText() : v.toString(), element);
    }

    /** Parses one value of a Config Admin scalar type. */
    public static Object scalar(String key, String s, String type) {
        try {
            return switch (type) {
                case "String" -> s;
                case "Integer" -> Integer.valueOf(s.trim());
                case "Long" -> Long.valueOf(s.trim());
                case "Double" -> Double.valueOf(s.trim());
                case "Float" -> Float.valueOf(s.trim());
                case "Boolean" -> {
                    if (!s.trim().equalsIgnoreCase("true") && !s.trim().equalsIgnoreCase("false")) {
                        throw new IllegalArgumentException("not true or false");
                    }
                    yield Boolean.valueOf(s.trim());
                }
                default -> throw new IllegalArgumentException("unknown type " + type
                        + " (String, Integer, Long, Double, Float, Boolean, and arrays of them)");
            };
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": '" + s + "' is not a valid " + type + " (" + e.getMessage()
                    + ")");
        }
    }

    /** Writes properties as plain JSON (arrays for arrays, numbers and booleans as such). */
    public static byte[] write(Map<String, Object> props) {
        return JsonCodec.bytes(tree(props));
    }

    /** The properties as indented JSON, for people. */
    public static String pretty(Map<String, Object> props) {
        try {
            return JsonCodec.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(tree(props));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode tree(Map<String, Object> props) {
        ObjectNode o = JsonCodec.MAPPER.createObjectNode();
        for (Map.Entry<String, Object> e : new TreeMap<>(props).entrySet()) {
            o.set(e.getKey(), node(e.getValue()));
        }
        return o;
    }

    private static JsonNode node(Object v) {
        var f = JsonCodec.MAPPER.getNodeFactory();
        if (v instanceof Object[] a) {
            ArrayNode arr = f.arrayNode();
            for (Object x : a) {
                arr.add(node(x));
            }
            return arr;
        }
        if (v instanceof Boolean b) {
            return f.booleanNode(b);
        }
        if (v instanceof Integer i) {
            return f.numberNode(i);
        }
        if (v instanceof Long l) {
            return f.numberNode(l);
        }
        if (v instanceof Double d) {
            return f.numberNode(d);
        }
        if (v instanceof Float d) {
            return f.numberNode(d);
        }
        return f.textNode(String.valueOf(v));
    }
}
