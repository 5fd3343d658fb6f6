package zgres.api.deadman;

import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Vetoes a node being healthy, beside the builtin {@code SELECT 1}. A vetoed node loses its {@code /conn} and is
 * never promoted. Called on the deadman's loop: keep it quick (it is abandoned after a timeout and counts as a
 * veto then).
 */
@ConsumerType
public interface HealthVeto {
    /**
     * @param node the local node
     * @return a problem description when the node must not count as healthy, else empty
     */
    Optional<String> check(NodeContext node) throws Exception;
}
