package zgres.deadman.pg;

import zgres.api.Lsn;

/**
 * What the builtin health check saw through a connection to the local PostgreSQL.
 *
 * @param reachable the health check query ran
 * @param error why it did not, when not reachable
 * @param inRecovery a standby (read-only)
 * @param timeline current timeline (a standby's: the timeline it receives, else its checkpoint's)
 * @param writeLsn master: current write position
 * @param flushLsn master: flushed position
 * @param receiveLsn standby: last WAL position received
 * @param replayLsn standby: last WAL position replayed
 * @param systemId system identifier
 * @param receiverStatus standby: walreceiver status (streaming, ...) or empty
 * @param upstream standby: host:port it streams from, or empty
 * @param senderEndLsn standby: the sender's last reported end of WAL
 * @param dataTimeline the timeline the data files are on (latest checkpoint or minimum recovery point): a standby
 *        that received WAL past a new timeline's fork point stays on its old one and must be rewound
 */
public record PgStatus(boolean reachable, String error, boolean inRecovery, int timeline, Lsn writeLsn, Lsn flushLsn,
        Lsn receiveLsn, Lsn replayLsn, String systemId, String receiverStatus, String upstream, Lsn senderEndLsn,
        int dataTimeline) {

    public static PgStatus unreachable(String error) {
        return new PgStatus(false, error, false, 0, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, Lsn.ZERO, "", "", "", Lsn.ZERO, 0);
    }

    /** @return the most advanced position this node holds */
    public Lsn bestLsn() {
        return inRecovery ? Lsn.max(receiveLsn, replayLsn) : Lsn.max(writeLsn, flushLsn);
    }

    /** @return a copy with another timeline */
    public PgStatus withTimeline(int tl) {
        return new PgStatus(reachable, error, inRecovery, tl, writeLsn, flushLsn, receiveLsn, replayLsn, systemId,
                receiverStatus, upstream, senderEndLsn, dataTimeline);
    }

    public boolean streaming() {
        return "streaming".equals(receiverStatus);
    }

    /** @return bytes the standby is behind what its sender last reported */
    public long lagBytes() {
        return inRecovery ? senderEndLsn.bytesAfter(replayLsn) : 0;
    }
}
