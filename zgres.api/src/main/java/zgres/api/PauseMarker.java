package zgres.api;

import java.time.Instant;

/** {@code /pause/{group}}: present while the group is paused (no automatic action). */
public record PauseMarker(Instant pausedAt) {
    public PauseMarker {
        pausedAt = pausedAt == null ? Instant.EPOCH : pausedAt;
    }
}
