package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

import io.vertx.core.Future;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/**
 * Writes a group of check-in events in one transaction with set-based SQL: idempotency by (environment, eventId),
 * coalescing into a still-queued job, check-out fencing, skipped outcomes for environments not READY/PAUSED.
 *
 * <p>The transaction is one statement, {@code rlg_write_events} (V10__write_events_rounds.sql): one round trip
 * per group instead of seven, and every event's fields sent once. Its steps are those the statements of this class
 * took before, in the same order, each with its own snapshot.
 *
 * <p>Concurrency: several transactions may run at once (on this replica and others). Each first takes a share
 * lock on the environments it touches (a concurrent delete or status change waits for it, and an environment
 * deleted before it is seen as gone), then locks the rows of every device it touches in key order (so two
 * writers never deadlock). Every later statement therefore sees every event of those devices committed before
 * it: a check-in can never miss the check-out that fences it, and a re-sent eventId is seen as a duplicate.
 *
 * <p>Events of one device within a group are applied in arrival order: the function splits the group into rounds
 * that hold at most one event per (environment, device); usually there is one round.
 */
public final class EventStore {
    static final String WRITE = "SELECT event_position, event_outcome, event_job_id, racing_job_id "
            + "FROM rlg_write_events($1, $2, $3, $4, $5, $6, $7, $8)";
    /** The SQLSTATE {@code rlg_write_events} raises for unknown environments (their ids in DETAIL). */
    static final String UNKNOWN_ENVIRONMENTS = "RL001";

    /** Wakes the lanes of environments that got new jobs (delivered on commit, one per environment). */
    public static final String JOBS_QUEUED_CHANNEL = "rlg_jobs_queued";
    static final String NOTIFY_QUEUED = "SELECT pg_notify('" + JOBS_QUEUED_CHANNEL + "', e) FROM unnest($1::text[]) e";
    /**
     * Tells the lane of a job that a check-out fenced it while it was claimed (payload {@code environment:jobId}):
     * if the call has not left yet, the lane drops it instead of logging out the next user.
     */
    public static final String JOBS_FENCED_CHANNEL = "rlg_jobs_fenced";

    /**
     * What one stored event did (see the outcome CHECK in V1__schema.sql); {@code raced}: a check-out found the
     * device's call already being sent and fenced it.
     */
    public record Stored(String outcome, Long jobId, boolean raced) {
        Stored(String outcome, Long jobId) {
            this(outcome, jobId, false);
        }
    }

    /** The events of environments that do not exist (deleted since the request was validated). */
    public static final class MissingEnvironments extends RuntimeException {
        private final Set<String> ids;

        MissingEnvironments(Set<String> ids) {
            super("unknown environments " + ids, null, false, false);
            this.ids = ids;
        }

        public Set<String> ids() {
            return ids;
        }
    }

    private final Pool pool;

    public EventStore(Pool pool) {
        this.pool = pool;
    }

    /**
     * Stores the events (distinct (environment, eventId) pairs) in one transaction. The map holds the newly
     * stored ones by {@link #key}; an event absent from it was a duplicate. Fails with
     * {@link MissingEnvironments} (nothing written) when an environment does not exist.
     */
    public Future<Map<String, Stored>> write(List<CheckInEvent> events) {
        return pool.preparedQuery(WRITE).execute(params(events))
                .recover(failure -> Future.failedFuture(failure instanceof PgException pg
                        && UNKNOWN_ENVIRONMENTS.equals(pg.getSqlState()) ? new MissingEnvironments(ids(pg.getDetail())) : failure))
                .map(rows -> {
                    Map<String, Stored> stored = new HashMap<>(rows.size() * 2);
                    for (Row row : rows) {
                        CheckInEvent e = events.get(row.getLong(0).intValue() - 1);
                        Long racing = row.getLong(3);
                        stored.put(key(e.environmentId(), e.eventId()), new Stored(row.getString(1), row.getLong(2), racing != null));
                    }
                    return stored;
                });
    }

    /** One array per event field, in arrival order (the arguments of {@code rlg_write_events}). */
    static Tuple params(List<CheckInEvent> events) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::eventId))
                .addArrayOfString(strings(events, e -> e.type().name()))
                .addArrayOfString(strings(events, CheckInEvent::deviceId))
                .addArrayOfOffsetDateTime(events.stream().map(CheckInEvent::occurredAt).toArray(OffsetDateTime[]::new))
                .addArrayOfString(strings(events, CheckInEvent::userId))
                .addArrayOfString(strings(events, CheckInEvent::lockerId))
                .addArrayOfString(strings(events, CheckInEvent::requestId));
    }

    private static String[] strings(List<CheckInEvent> events, Function<CheckInEvent, String> field) {
        String[] values = new String[events.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = field.apply(events.get(i));
        }
        return values;
    }

    private static Set<String> ids(String detail) {
        return detail == null || detail.isEmpty() ? Set.of() : new TreeSet<>(List.of(detail.split(",")));
    }

    public static String key(String environmentId, String eventId) {
        return environmentId + '\u0000' + eventId;
    }
}
