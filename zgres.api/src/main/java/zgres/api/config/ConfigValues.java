package zgres.api.config;

/** Typing configuration text that no metatype describes. */
public final class ConfigValues {
    private ConfigValues() {
    }

    /**
     * The value of {@code key=text} when no bundle describes the key: a boolean, an integer (a long when it does not
     * fit), else the text as it is.
     */
    public static Object guess(String text) {
        String t = text.trim();
        if (t.equals("true") || t.equals("false")) {
            return Boolean.valueOf(t);
        }
        if (t.matches("-?[0-9]{1,9}")) {
            return Integer.valueOf(t);
        }
        if (t.matches("-?[0-9]{10,18}")) {
            return Long.valueOf(t);
        }
        return text;
    }
}
