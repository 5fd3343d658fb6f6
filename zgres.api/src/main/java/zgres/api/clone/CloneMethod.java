package zgres.api.clone;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * One way to build a replica's data directory (a whiteboard service; the deadman tries the methods its
 * {@code clone_methods} names, in that order, and falls back to the next when one fails). Runs off the deadman's
 * loop and may take hours.
 */
@ConsumerType
public interface CloneMethod {
    /** @return the name {@code clone_methods} lists ({@code [a-z][a-z0-9_-]*}) */
    String name();

    /**
     * Fills {@link CloneRequest#target} with a copy of the group's data directory PostgreSQL can start from as a
     * standby (standby.signal and primary_conninfo are the deadman's). Throws when it cannot: nothing of the target
     * is used then, and the next method is tried.
     */
    void build(CloneRequest request) throws Exception;
}
