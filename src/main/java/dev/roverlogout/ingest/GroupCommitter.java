package dev.roverlogout.ingest;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.store.CheckInEvent;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.lifecycle.Service;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.EventStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgException;

/**
 * The ingest committer (group commit): events of concurrent requests that arrive while the writers are busy, or within
 * {@code ingest.groupCommit.window} of an idle moment, are written together in one transaction; each request is
 * answered when its own events are durable. At most {@code ingest.groupCommit.writers} groups are written at once
 * (one commit's fsync overlaps the next group's statements); the next group forms while they commit, so the batch
 * size grows with the load.
 *
 * <p>All state is confined to one Vert.x context; {@link #submit} may be called from any event loop and its
 * future completes on the caller's context.
 */
public final class GroupCommitter implements Service {
    private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);

    /** What became of one event: {@code status} accepted|duplicate, {@code outcome} what it did (or duplicate). */
    public record Result(CheckInEvent event, String status, String outcome) {
    }

    private record Pending(List<CheckInEvent> events, Promise<List<Result>> promise, Context caller, long deadline) {
    }

    /** Requests waiting for a writer, in events, above which new requests are refused at once with 503. */
    static final int MAX_WAITING_GROUPS = 20;

    private final Vertx vertx;
    private final Context context;
    private final EventStore store;
    private final GatewayMetrics metrics;
    private final IntConsumer onQueued;
    private final GatewayConfig.Ingest config;

    private final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    private int waitingEvents;
    private int writing;
    private long windowTimer = -1;
    private Promise<Void> drained;

    /**
     * @param context  where the groups form and are written (every request hops here and back)
     * @param onQueued told how many new jobs each commit queued (the backlog estimate between two counts)
     */
    public GroupCommitter(Vertx vertx, Context context, EventStore store, GatewayMetrics metrics, IntConsumer onQueued,
                          GatewayConfig.Ingest config) {
        this.vertx = vertx;
        this.context = context;
        this.store = store;
        this.metrics = metrics;
        this.onQueued = onQueued;
        this.config = config;
    }

    @Override
    public String name() {
        return "ingest committer";
    }

    @Override
    public Future<Void> start() {
        return Future.succeededFuture();
    }

    /** Stops taking requests and completes when every request already taken has been answered. */
    @Override
    public Future<Void> stop() {
        return drain();
    }

    /**
     * Queues the events of one request; the future completes when they are committed, or fails with an
     * {@link IngestRefused} or {@link EventStore.MissingEnvironments} (nothing of this request stored).
     */
    public Future<List<Result>> submit(List<CheckInEvent> events) {
        Context caller = vertx.getOrCreateContext();
        Promise<List<Result>> promise = Promise.promise();
        long deadline = System.nanoTime() + config.commitTimeout().toNanos();
        context.runOnContext(v -> enqueue(new Pending(events, promise, caller, deadline)));
        return promise.future();
    }

    /** Stops taking requests and completes when every request already taken has been answered. */
    private Future<Void> drain() {
        Promise<Void> p = Promise.promise();
        context.runOnContext(v -> {
            if (drained != null) {
                drained.future().onComplete(p);
                return;
            }
            drained = p;
            flush();
            completeDrainIfIdle();
        });
        return p.future();
    }

    private void enqueue(Pending p) {
        if (drained != null) {
            answer(p, Future.failedFuture(new IngestRefused(IngestRefused.Reason.SHUTTING_DOWN, "the gateway is shutting down")));
            return;
        }
        if (waitingEvents >= MAX_WAITING_GROUPS * config.groupMaxEvents()) {
            answer(p, Future.failedFuture(new IngestRefused(IngestRefused.Reason.OVERLOADED,
                    "the database is not keeping up; nothing was stored, retry later")));
            return;
        }
        waiting.add(p);
        waitingEvents += p.events().size();
        if (writing >= config.groupWriters()) {
            return; // the group forms while the current writes commit
        }
        if (waitingEvents >= config.groupMaxEvents() || config.groupWindow().isZero()) {
            flush();
        } else if (windowTimer < 0) {
            windowTimer = vertx.setTimer(Math.max(1, config.groupWindow().toMillis()), id -> {
                windowTimer = -1;
                flush();
            });
        }
    }

    private void flush() {
        if (windowTimer >= 0) {
            vertx.cancelTimer(windowTimer);
            windowTimer = -1;
        }
        if (writing >= config.groupWriters() || waiting.isEmpty()) {
            return;
        }
        List<Pending> group = new ArrayList<>();
        int n = 0;
        long now = System.nanoTime();
        while (!waiting.isEmpty() && (group.isEmpty() || n + waiting.peek().events().size() <= config.groupMaxEvents())) {
            Pending p = waiting.poll();
            waitingEvents -= p.events().size();
            if (now - p.deadline() > 0) { // waited out its commit timeout before a writer was free: never written
                answer(p, Future.failedFuture(new IngestRefused(IngestRefused.Reason.NOT_WRITTEN_IN_TIME,
                        "the database did not keep up; nothing was stored, retry later")));
                continue;
            }
            group.add(p);
            n += p.events().size();
        }
        if (group.isEmpty()) {
            return;
        }
        writing++;
        write(group, 0).onComplete(done -> {
            writing--;
            if (!waiting.isEmpty()) {
                flush();
            }
            completeDrainIfIdle();
        });
    }

    private void completeDrainIfIdle() {
        if (drained != null && writing == 0 && waiting.isEmpty()) {
            drained.tryComplete();
        }
    }

    /** Writes one group; answers every request in it, whatever happens. Never fails. */
    private Future<Void> write(List<Pending> group, int retry) {
        Map<String, CheckInEvent> first = new HashMap<>();
        List<CheckInEvent> distinct = new ArrayList<>();
        for (Pending p : group) {
            for (CheckInEvent e : p.events()) {
                if (first.putIfAbsent(EventStore.key(e.environmentId(), e.eventId()), e) == null) {
                    distinct.add(e);
                }
            }
        }
        // requests that wait past their commit timeout are answered 503 (their events may still commit: a retry is
        // safe, eventId is idempotent), but the writer slot is held until the transaction really ends, so a stalled
        // database never has more than ingest.groupCommit.writers transactions open on it
        long timer = vertx.setTimer(config.commitTimeout().toMillis(), id -> group.forEach(p -> answer(p,
                Future.failedFuture(new IngestRefused(IngestRefused.Reason.COMMIT_UNCONFIRMED, "the database did not "
                        + "confirm the write in time; the events may have been stored, and retrying is safe")))));
        return store.write(distinct).transform(ar -> {
            vertx.cancelTimer(timer);
            if (ar.succeeded()) {
                metrics.groupCommitted(distinct.size());
                group.forEach(p -> answer(p, Future.succeededFuture(results(p, first, ar.result()))));
                return Future.succeededFuture();
            }
            return recover(group, ar.cause(), retry);
        });
    }

    private Future<Void> recover(List<Pending> group, Throwable failure, int retry) {
        if (failure instanceof EventStore.MissingEnvironments missing) {
            List<Pending> rest = new ArrayList<>();
            for (Pending p : group) {
                if (p.events().stream().anyMatch(e -> missing.ids().contains(e.environmentId()))) {
                    answer(p, Future.failedFuture(missing));
                } else {
                    rest.add(p);
                }
            }
            return rest.isEmpty() ? Future.succeededFuture() : write(rest, retry);
        }
        if (retry == 0 && isTransient(failure)) {
            // a deadlock, or the same eventId with two devices in two concurrent groups: the other has committed now
            return write(group, 1);
        }
        IngestRefused refused = refusal(failure);
        group.forEach(p -> answer(p, Future.failedFuture(refused)));
        return Future.succeededFuture();
    }

    private List<Result> results(Pending p, Map<String, CheckInEvent> first, Map<String, EventStore.Stored> stored) {
        List<Result> results = new ArrayList<>(p.events().size());
        int queued = 0;
        for (CheckInEvent e : p.events()) {
            String key = EventStore.key(e.environmentId(), e.eventId());
            EventStore.Stored s = first.get(key) == e ? stored.get(key) : null;
            Result r = s == null ? new Result(e, "duplicate", "duplicate") : new Result(e, "accepted", s.outcome());
            results.add(r);
            metrics.checkIn(e.environmentId(), e.type().name(), metricResult(r.outcome()));
            if (s != null && s.raced()) {
                metrics.checkOutRace(e.environmentId());
            }
            if ("cancelled_job".equals(r.outcome())) {
                metrics.disassociation(e.environmentId(), "cancelled");
            }
            if ("queued".equals(r.outcome())) {
                queued++;
            }
        }
        onQueued.accept(queued);
        return results;
    }

    /**
     * The {@code result} label of rlg_checkins_total for an event outcome, within the contract's values: a check-in
     * superseded by a later check-out counts as skipped (recorded, Epic not called).
     */
    static String metricResult(String outcome) {
        return switch (outcome) {
            case "queued", "recorded", "cancel_race" -> "accepted";
            case "superseded" -> "skipped";
            default -> outcome; // duplicate, coalesced, skipped, cancelled_job
        };
    }

    private static boolean isTransient(Throwable t) {
        return t instanceof PgException pg && Set.of("40P01", "40001", "23505").contains(pg.getSqlState());
    }

    private IngestRefused refusal(Throwable failure) {
        if (failure instanceof PgException pg && !unavailableState(pg.getSqlState())) {
            log.error("Storing check-ins failed with SQLSTATE {}", pg.getSqlState(), failure);
            return new IngestRefused(IngestRefused.Reason.INTERNAL, "storing the events failed; nothing was stored");
        }
        log.warn("Database unavailable for ingest ({}); answering 503", failure.toString());
        return new IngestRefused(IngestRefused.Reason.DATABASE_UNAVAILABLE,
                "the database is unavailable; nothing was stored, retry later");
    }

    private static boolean unavailableState(String state) {
        return state == null || state.startsWith("08") || state.startsWith("57P") || state.startsWith("53")
                || state.equals("25006") || state.startsWith("40");
    }

    /** Answers once: a request answered 503 at its timeout ignores the late outcome of its write. */
    private static void answer(Pending p, Future<List<Result>> outcome) {
        p.caller().runOnContext(v -> {
            if (outcome.succeeded()) {
                p.promise().tryComplete(outcome.result());
            } else {
                p.promise().tryFail(outcome.cause());
            }
        });
    }
}
