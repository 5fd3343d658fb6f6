package zgres.deadman.pg;

import java.io.IOException;

/** pg_rewind did not rewind: either its source could not be reached (try again later) or it failed. */
public final class RewindFailure extends IOException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, as far as it matters for what to do next. */
    public enum Kind {
        /** the source server did not answer: nothing was changed, a later attempt may work */
        SOURCE_UNREACHABLE,
        /** the source is not this group's, or not on a history containing ours ({@link SourceCheck}): nothing ran */
        SOURCE_REFUSED,
        /** pg_rewind ran and failed */
        FAILED
    }

    private final Kind kind;

    public RewindFailure(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
