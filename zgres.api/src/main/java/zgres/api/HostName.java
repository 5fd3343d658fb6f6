package zgres.api;

import java.util.regex.Pattern;

/**
 * Validation of the host part of a node's address, wherever one is read (a znode) or written (a pgbouncer or
 * HAProxy file, {@code pg_hba.conf}, a libpq connection string, a passfile): a DNS name (RFC 1123 labels of
 * letters, digits and {@code -}, separated by dots), an IPv4 address, or an IPv6 address (hex digits, {@code :} and
 * {@code .}). Nothing else - no whitespace, control character, quote, {@code ;}, {@code #}, {@code \}, {@code _} or
 * {@code /} - so a host can never add a line, a command or an option to what it is written into.
 */
public final class HostName {
    private static final Pattern DNS = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    private HostName() {}

    /** @return true when {@code host} is a DNS name, an IPv4 or an IPv6 address */
    public static boolean isValid(String host) {
        if (host == null) {
            return false;
        }
        if (host.indexOf(':') >= 0) {
            return IPV6.matcher(host).matches() && host.indexOf(":::") < 0;
        }
        return DNS.matcher(host).matches();
    }

    /**
     * @return {@code host} unchanged
     * @throws IllegalArgumentException naming the value (control characters escaped) and the rule
     */
    public static String require(String host) {
        if (!isValid(host)) {
            throw new IllegalArgumentException("invalid host '" + printable(host) + "': must be a DNS name, an IPv4 or "
                    + "an IPv6 address (no spaces, control characters, quotes, ';', '#', '_' or '/')");
        }
        return host;
    }

    /** @return {@code s} with control characters shown as {@code \n}, {@code \t} or {@code \\uXXXX}, cut at 80 chars */
    public static String printable(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 80; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return s.length() > 80 ? b + "..." : b.toString();
    }
}
