package zgres.api;

/**
 * A PostgreSQL WAL position (pg_lsn): a 64-bit unsigned number written {@code X/Y} in hexadecimal. Positions
 * compare as unsigned 64-bit numbers, never as text.
 */
public final class Lsn implements Comparable<Lsn> {
    public static final Lsn ZERO = new Lsn(0);

    private final long value;

    private Lsn(long value) {
        this.value = value;
    }

    public static Lsn of(long value) {
        return value == 0 ? ZERO : new Lsn(value);
    }

    private static final java.util.regex.Pattern TEXT = java.util.regex.Pattern.compile(
            "[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}");

    /** Parses {@code X/Y}: two unsigned hexadecimal numbers of at most 8 digits (no sign, no space). */
    public static Lsn parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("LSN is null");
        }
        int slash = text.indexOf('/');
        if (!TEXT.matcher(text).matches()) {
            throw new IllegalArgumentException("invalid LSN '" + (text.length() > 40 ? text.substring(0, 40) + "..."
                    : text) + "': expected X/Y, unsigned hexadecimal");
        }
        try {
            long hi = Long.parseLong(text.substring(0, slash), 16);
            long lo = Long.parseLong(text.substring(slash + 1), 16);
            return of((hi << 32) | lo);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid LSN '" + text + "': expected X/Y in hexadecimal");
        }
    }

    /** @return the 64-bit position (compare with {@link Long#compareUnsigned}) */
    public long value() {
        return value;
    }

    /** @return bytes from {@code other} to this position, 0 when {@code other} is ahead */
    public long bytesAfter(Lsn other) {
        return Long.compareUnsigned(value, other.value) <= 0 ? 0 : value - other.value;
    }

    public boolean isAfter(Lsn other) {
        return compareTo(other) > 0;
    }

    public static Lsn max(Lsn a, Lsn b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    @Override
    public int compareTo(Lsn o) {
        return Long.compareUnsigned(value, o.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Lsn l && l.value == value;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(value);
    }

    @Override
    public String toString() {
        return Long.toHexString(value >>> 32).toUpperCase() + "/" + Long.toHexString(value & 0xFFFFFFFFL).toUpperCase();
    }
}
