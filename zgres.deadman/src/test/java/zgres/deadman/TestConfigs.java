package zgres.deadman;

import java.lang.reflect.Proxy;
import java.util.HashMap;
import java.util.Map;

/** Builds OSGi configuration-annotation instances for tests, with the annotation's defaults. */
public final class TestConfigs {
    private TestConfigs() {}

    @SuppressWarnings("unchecked")
    public static <T> T of(Class<T> type, Map<String, Object> values) {
        Map<String, Object> v = new HashMap<>(values);
        return (T) Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, m, args) -> {
            if (m.getName().equals("annotationType")) {
                return type;
            }
            if (m.getName().equals("toString")) {
                return type.getSimpleName() + v;
            }
            String key = m.getName().replace("__", "\u0000").replace('_', '.').replace('\u0000', '_');
            Object x = v.containsKey(key) ? v.get(key) : m.getDefaultValue();
            if (x == null) {
                throw new IllegalArgumentException("no value for " + key);
            }
            return x;
        });
    }
}
