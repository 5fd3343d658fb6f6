package zgres.api.promotion;

import zgres.api.NodeId;

/**
 * Why a node may not be promoted.
 *
 * @param candidate the node
 * @param check the check that failed
 * @param reason the reason in words, starting with "it" (e.g. "it is tagged nofailover")
 */
public record Refusal(NodeId candidate, Check check, String reason) {
    @Override
    public String toString() {
        return candidate.address() + ": " + reason;
    }
}
