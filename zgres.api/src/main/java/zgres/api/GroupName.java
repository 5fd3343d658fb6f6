package zgres.api;

import java.util.regex.Pattern;

/** Validation of database group names: {@code [A-Za-z0-9][A-Za-z0-9.-]*}. */
public final class GroupName {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9.-]*");

    private GroupName() {}

    /** @return true when {@code name} is a valid group name */
    public static boolean isValid(String name) {
        return name != null && name.length() <= 128 && VALID.matcher(name).matches();
    }

    /**
     * @return {@code name} unchanged
     * @throws IllegalArgumentException naming the value and the rule when it is not a valid group name
     */
    public static String require(String name) {
        if (!isValid(name)) {
            throw new IllegalArgumentException("invalid group name '" + name
                    + "': must match [A-Za-z0-9][A-Za-z0-9.-]* (at most 128 characters, no '_')");
        }
        return name;
    }
}
