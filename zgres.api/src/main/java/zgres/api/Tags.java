package zgres.api;

/**
 * Operator tags of a node: {@code nofailover} (never promote it automatically), {@code priority} (higher wins
 * among equally advanced candidates) and {@code zone} (its availability zone, used by routing plugins).
 */
public record Tags(boolean nofailover, int priority, String zone) {
    public static final Tags NONE = new Tags(false, 0, "");

    public Tags {
        zone = zone == null ? "" : zone;
    }
}
