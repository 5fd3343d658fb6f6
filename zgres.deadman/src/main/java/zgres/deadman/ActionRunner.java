package zgres.deadman;

import java.io.IOException;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import zgres.api.ConnInfo;
import zgres.api.HistoryEntry;
import zgres.api.Lsn;
import zgres.api.NodeId;
import zgres.api.NodePhase;
import zgres.api.Switchover;
import zgres.deadman.action.LongActions;
import zgres.deadman.ha.Action;
import zgres.deadman.ha.Decision;
import zgres.deadman.ha.Observation;
import zgres.deadman.ha.Policy;
import zgres.deadman.ha.Situation;
import zgres.deadman.lease.LeaseKeeper;
import zgres.deadman.pg.PgNode;
import zgres.deadman.pg.RewindFailure;
import zgres.deadman.promote.Promoter;
import zgres.deadman.provision.Provisioner;
import zgres.deadman.publish.StatePublisher;
import zgres.deadman.switchover.SwitchoverCoordinator;
import zgres.deadman.sync.SyncReplication;

/**
 * Carries out the loop's {@link Decision}s, one method per action, through the collaborator that owns what the
 * action changes. Runs on the loop thread; what takes long (pg_rewind, pg_basebackup) goes to {@link LongActions}.
 * Remembers the two facts an action leaves for later cycles: the standing refusal (published in {@code /state}) and
 * how this node took the lock (an election makes its promotion a failover in {@code /history}).
 */
final class ActionRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ActionRunner.class);

    /** What the runner needs from the deadman around it. */
    interface Loop {
        /** Publishes /state and /conn now (after a change other nodes should see at once). */
        void publishNow();

        /** Wakes the loop up (PostgreSQL exited or was fenced). */
        void wakeUp();
    }

    private final NodeId me;
    private final String name;
    private final PgNode pg;
    private final LeaseKeeper lease;
    private final StatePublisher publisher;
    private final LongActions actions;
    private final Promoter promoter;
    private final Provisioner provisioner;
    private final SwitchoverCoordinator switchovers;
    private final SyncReplication sync;
    private final zgres.deadman.slots.SlotKeeper slots;
    private final Observer observer;
    private final AtomicReference<NodePhase> phase;
    private final Supplier<Policy> policy;
    private final Loop loop;

    private String refusal = "";
    /** how this node last took the lock (an election makes its promotion a failover in the history) */
    private Situation tookLock;

    ActionRunner(NodeId me, PgNode pg, LeaseKeeper lease, StatePublisher publisher, LongActions actions,
            Promoter promoter, Provisioner provisioner, SwitchoverCoordinator switchovers, SyncReplication sync,
            zgres.deadman.slots.SlotKeeper slots, Observer observer, AtomicReference<NodePhase> phase, Supplier<Policy> policy, Loop loop) {
        this.me = me;
        this.name = me.toString();
        this.pg = pg;
        this.lease = lease;
        this.publisher = publisher;
        this.actions = actions;
        this.promoter = promoter;
        this.provisioner = provisioner;
        this.switchovers = switchovers;
        this.sync = sync;
        this.slots = slots;
        this.observer = observer;
        this.phase = phase;
        this.policy = policy;
        this.loop = loop;
    }

    /** How long a refused request stays in this node's /state metadata ({@code refused_request}). */
    static final long REFUSED_REQUEST_SHOWN_MS = 10 * 60 * 1000;
    private volatile String refusedRequest = "";
    private volatile long refusedAt;

    /**
     * @return the last switchover or manual failover request this node refused to carry out, with when and why,
     *         for {@value #REFUSED_REQUEST_SHOWN_MS} ms (published as the metadata {@code refused_request}: {@code
     *         zgres:switchovers} lists it), or ""
     */
    String refusedRequest() {
        return System.nanoTime() - refusedAt < java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(
                REFUSED_REQUEST_SHOWN_MS) ? refusedRequest : "";
    }

    private void requestRefused(String reason) {
        refusedRequest = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + " " + reason;
        refusedAt = System.nanoTime();
    }

    /** @return the reason this node refuses to run, or "" (published in /state) */
    String refusal() {
        return refusal;
    }

    /** @return true when the loop should decide again at once (the lock was just taken) */
    boolean act(Observation o, Decision d) throws Exception {
        if (d.action() != Action.REFUSE) {
            refusal = "";
        }
        switch (d.action()) {
            case NONE, WAIT -> {
                // nothing
            }
            case REFUSE -> refuse(d);
            case BOOTSTRAP -> provisioner.bootstrap();
            case REGISTER -> provisioner.register();
            case CLONE -> provisioner.clone(conn(o, d), o.group().dbId());
            case START_STANDBY -> startStandby(o, d);
            case START_MASTER -> startMaster();
            case FOLLOW -> {
                if (verifiedMaster(o, d)) {
                    pg.repoint(conn(o, d));
                    observer.followed();
                }
            }
            case UNFOLLOW -> pg.unfollow();
            case REWIND -> rewind(o, d);
            case RECLONE -> {
                observer.rewindHandled();
                provisioner.reclone(d.reason(), conn(o, d), o.group().dbId());
                observer.recloned();
            }
            case TAKE_LOCK -> {
                if (d.situation() == Situation.FAILSAFE_RETAKE) {
                    publisher.reclaim(lease.sessionId()); // our /state must be this session's
                    if (o.lock() == zgres.deadman.ha.LockOwner.MINE_STALE) {
                        lease.deleteStale(); // our expired session's lock: the replicas hear from us
                    }
                }
                java.util.Optional<zgres.api.MasterLock> foreign = o.group().lock()
                        .filter(zgres.api.MasterLock::holderUnknown);
                if (lease.tryTake(foreign, foreign.filter(l -> observer.isForeign(l.created())).isPresent())) {
                    tookLock = d.situation();
                    return true;
                }
                LOG.info("[{}] did not take the lock (another node took it first, or see the line above)", name);
            }
            case PROMOTE -> promote(o, d);
            case HANDOVER -> switchovers.handOver(o.group().switchover().orElseThrow(), d.target().orElseThrow(),
                    false);
            case CANCEL_SWITCHOVER -> {
                LOG.error("[{}] {}: the request is dropped", name, d.reason());
                requestRefused(d.reason());
                switchovers.delete();
            }
            case ABANDON_REQUEST -> {
                requestRefused(d.reason());
                switchovers.delete();
                lease.release(d.reason());
            }
            case SYNC -> sync.apply(d.plan().orElseThrow());
            case FENCE -> fence(d.reason());
            case RELEASE_LOCK -> {
                pg.fence("giving up the lock");
                lease.release(d.reason());
            }
            case DELETE_STALE_LOCK -> {
                if (!pg.running()) {
                    lease.deleteStale();
                }
            }
        }
        return false;
    }

    /**
     * Before following a new master: its server must be this group's (a {@code /lock} and a {@code /conn} are data
     * from ZooKeeper). A server that answers with another system identifier makes its lock nobody's; one that does
     * not answer is followed anyway (the walreceiver checks the identifier itself and streams nothing foreign).
     */
    private boolean verifiedMaster(Observation o, Decision d) {
        ConnInfo m = conn(o, d);
        try {
            pg.checkCloneSource(m, o.group().dbId());
            return true;
        } catch (zgres.deadman.pg.SourceCheck.Refused e) {
            observer.foreignMaster(o.group().lock().map(zgres.api.MasterLock::created).orElse(0L),
                    o.group().master().orElse(null), e.getMessage());
            return false;
        } catch (IOException e) {
            LOG.warn("[{}] could not check {} before following it ({}): following anyway", name, m.address(),
                    e.getMessage());
            return true;
        }
    }

    private static ConnInfo conn(Observation o, Decision d) {
        NodeId target = d.target().orElseThrow();
        return Optional.ofNullable(o.group().conns().get(target)).orElseThrow(() -> new IllegalStateException(
                target.address() + " publishes no /conn"));
    }

    private void refuse(Decision d) {
        refusal = d.reason();
        if (pg.running()) {
            LOG.error("[{}] stopping PostgreSQL: {}", name, d.reason());
            pg.stop("INT", 30_000);
        }
        phase.set(NodePhase.REFUSED);
    }

    private void startStandby(Observation o, Decision d) throws IOException {
        if (d.situation() == Situation.REWIND_SOURCE_UNREACHABLE) {
            observer.rewindHandled();
        }
        pg.configureStandby(d.target().map(t -> o.group().conns().get(t)));
        phase.set(NodePhase.STARTING);
        startPostgres(OptionalLong.empty());
    }

    private void startMaster() throws Exception {
        if (!lease.awaitConfirmed()) {
            return; // never a primary without a lease
        }
        phase.set(NodePhase.STARTING);
        startPostgres(OptionalLong.of(lease.current().orElseThrow().endNanos()));
    }

    /** Stops PostgreSQL, rewinds it onto the master's timeline and starts it as a standby, in the background. */
    private void rewind(Observation o, Decision d) throws IOException {
        NodeId source = d.target().orElseThrow();
        ConnInfo m = conn(o, d);
        if (pg.running()) {
            pg.stop("INT", 30_000);
        }
        phase.set(NodePhase.REWINDING);
        loop.publishNow();
        actions.start("pg_rewind from " + m.address(), () -> {
            try {
                int localTimeline = pg.data().controlData().dataTimeline();
                String out = pg.rewind(m, o.group().dbId(), localTimeline);
                LOG.warn("[{}] pg_rewind from {}: {}", name, m.address(), out.replace('\n', ' '));
                pg.configureStandby(Optional.of(m));
                phase.set(NodePhase.STARTING);
                // started here, not by the next cycle: when pg_rewind had nothing to do ("no rewind required") the
                // data files stay on the old timeline until the standby follows the master onto the new one, and
                // the loop would only see a stopped cluster on an older timeline and rewind it again
                startPostgres(OptionalLong.empty());
            } catch (RewindFailure e) {
                // a source that was unreachable or refused changed nothing here: never a reason to clone again
                observer.rewindFailed(source, e.kind() != RewindFailure.Kind.FAILED, e.getMessage());
                if (e.kind() == RewindFailure.Kind.SOURCE_REFUSED && e.getMessage().contains("system identifier")) {
                    observer.foreignMaster(o.group().lock().map(zgres.api.MasterLock::created).orElse(0L),
                            source, e.getMessage());
                }
                phase.set(NodePhase.STOPPED);
                throw e;
            }
        });
    }

    private void promote(Observation o, Decision d) throws Exception {
        Optional<Switchover> request = o.fresh().map(Observation.Fresh::request).orElse(o.group().switchover())
                .filter(s -> s.candidate().equals(me.toString()));
        if (d.situation() == Situation.PROMOTE_HANDOVER) {
            Lsn last = request.orElseThrow().finalLsn();
            if (!switchovers.awaitFinalPosition(last)) {
                LOG.error("[{}] switchover: did not receive the old master's last position {} within {} ms", name,
                        last, SwitchoverCoordinator.CATCH_UP_MS);
                observer.handoverFailed(last);
                return;
            }
        }
        HistoryEntry.Cause cause = switch (d.situation()) {
            case PROMOTE_HANDOVER -> HistoryEntry.Cause.SWITCHOVER;
            case PROMOTE_MANUAL -> HistoryEntry.Cause.MANUAL;
            default -> tookLock == Situation.ELECTION_BEST || tookLock == Situation.ELECTION_OVERDUE
                    ? HistoryEntry.Cause.FAILOVER : HistoryEntry.Cause.PROMOTION;
        };
        String oldMaster = request.map(Switchover::from).filter(f -> !f.isEmpty()).orElse(observer.lastMaster());
        boolean promoted = promoter.promote(new Promoter.Promotion(cause, oldMaster),
                () -> {
                    sync.resetForPromotion(policy.get().syncMode());
                    slots.beforePromotion(o.group());
                });
        if (promoted && request.isPresent()) {
            switchovers.delete();
        }
        tookLock = null;
        loop.publishNow();
    }

    private void fence(String reason) {
        LOG.error("[{}] fencing PostgreSQL: {}", name, reason);
        pg.fence(reason);
        phase.set(NodePhase.FENCED);
        publisher.withdrawConn();
    }

    /** Starts PostgreSQL and remembers when, to count starts that never get ready. */
    private void startPostgres(OptionalLong armedDeadline) throws IOException {
        pg.start(armedDeadline, this::onSupervisorEvent);
        observer.started();
    }

    private void onSupervisorEvent(String event) {
        if (event.startsWith("EXITED") || event.startsWith("FENCED")) {
            if (event.startsWith("FENCED")) {
                phase.set(NodePhase.FENCED);
            }
            loop.wakeUp();
        }
    }
}
