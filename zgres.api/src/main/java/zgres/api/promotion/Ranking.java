package zgres.api.promotion;

import java.util.List;
import java.util.Optional;

import zgres.api.Lsn;
import zgres.api.NodeId;

/**
 * The candidates that passed the rule, best first, and the members left out with the reason.
 *
 * @param ranked best first: highest received position, then priority, then node id
 * @param excluded the refused members
 */
public record Ranking(List<Candidate> ranked, List<Refusal> excluded) {

    /** A member that may be promoted. */
    public record Candidate(NodeId id, Lsn lsn, int timeline, int priority) {
        @Override
        public String toString() {
            return id.address() + " (LSN " + lsn + ", timeline " + timeline
                    + (priority != 0 ? ", priority " + priority : "") + ")";
        }
    }

    public Ranking {
        ranked = List.copyOf(ranked);
        excluded = List.copyOf(excluded);
    }

    public Optional<Candidate> best() {
        return ranked.isEmpty() ? Optional.empty() : Optional.of(ranked.get(0));
    }

    /** @return the reason {@code id} is left out, if it is */
    public Optional<Refusal> refusal(NodeId id) {
        return excluded.stream().filter(r -> r.candidate().equals(id)).findFirst();
    }

    /** @return 0 for the best candidate, -1 when {@code id} is not ranked */
    public int rankOf(NodeId id) {
        for (int i = 0; i < ranked.size(); i++) {
            if (ranked.get(i).id().equals(id)) {
                return i;
            }
        }
        return -1;
    }
}
