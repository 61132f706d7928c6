package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import dev.roverlogout.ingest.CheckInEvent;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

/**
 * Writes a group of check-in events in one transaction with set-based SQL: idempotency by (environment, eventId),
 * coalescing into a still-queued job, check-out fencing, skipped outcomes for environments not READY/PAUSED.
 *
 * <p>Concurrency: several transactions may run at once (on this replica and others). Each first takes a share
 * lock on the environments it touches (a concurrent delete or status change waits for it, and an environment
 * deleted before it is seen as gone), then locks the rows of every device it touches in key order (so two
 * writers never deadlock). Every later statement therefore sees every event of those devices committed before
 * it: a check-in can never miss the check-out that fences it, and a re-sent eventId is seen as a duplicate.
 *
 * <p>Events of one device within a group are applied in arrival order: the group is split into rounds that hold
 * at most one event per (environment, device); usually there is one round. A round is two statements: the jobs
 * (new, coalesced, cancelled), then the events with the outcome each had. The outcomes are matched in Java by
 * hash: joining the job CTE back to the events in SQL is a nested loop under the cached generic plan, quadratic
 * in the group size. Every per-event lookup is written as a correlated {@code LIMIT 1} subquery, which the planner
 * cannot turn into a join: it stays an index probe per event even under a generic plan made while the tables were
 * empty (a hash anti-join made then would scan the whole table for every group).
 */
public final class EventStore {
    static final String LOCK_ENVIRONMENTS =
            "SELECT id, status FROM environment WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE";

    static final String LOCK_DEVICES = """
            INSERT INTO device AS d (environment_id, device_id)
            SELECT DISTINCT environment_id, device_id FROM unnest($1::text[], $2::text[]) AS t(environment_id, device_id)
             ORDER BY 1, 2
            ON CONFLICT (environment_id, device_id) DO UPDATE SET last_event_at = now()
            """;

    /**
     * One round's jobs. Returns one row per new event ('fresh': env, event id), per job created or coalesced into
     * ('job': env, device, job id, created), per job cancelled ('cancel') and per job already being sent ('race').
     * $1 environment ids, $2 event ids, $3 types, $4 device ids, $5 occurredAt, $6 request ids, $7 statuses:
     * READY/PAUSED environments (the ones whose check-ins queue).
     */
    static final String APPLY_JOBS = """
            WITH input AS (
              SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
                AS i(environment_id, event_id, type, device_id, occurred_at, request_id)
            ),
            fresh AS (
              SELECT i.* FROM input i
              WHERE (SELECT true FROM device_event d
                      WHERE d.environment_id = i.environment_id AND d.event_id = i.event_id LIMIT 1) IS NULL
            ),
            due AS (
              SELECT f.* FROM fresh f
              WHERE f.type = 'CHECK_IN' AND f.environment_id = ANY($7::text[])
                AND (SELECT true FROM device_event d
                      WHERE d.device_id = f.device_id AND d.environment_id = f.environment_id
                        AND d.occurred_at > f.occurred_at AND d.type = 'CHECK_OUT' LIMIT 1) IS NULL
            ),
            job AS (
              INSERT INTO disassociation_job AS j (environment_id, device_id, checked_in_at, received_at, next_attempt_at, request_id)
              SELECT environment_id, device_id, occurred_at, now(), now(), request_id FROM due
              ORDER BY environment_id, device_id
              ON CONFLICT (environment_id, device_id) WHERE state = 'queued'
              DO UPDATE SET checked_in_at = GREATEST(j.checked_in_at, EXCLUDED.checked_in_at)
              RETURNING j.id, j.environment_id, j.device_id, (j.xmax = 0) AS created
            ),
            fenced AS (
              SELECT f.environment_id, f.device_id, f.event_id, q.id
                FROM fresh f CROSS JOIN LATERAL (
                  SELECT j.id FROM disassociation_job j
                   WHERE j.environment_id = f.environment_id AND j.device_id = f.device_id
                     AND j.state = 'queued' AND j.checked_in_at < f.occurred_at LIMIT 1) q
               WHERE f.type = 'CHECK_OUT'
            ),
            cancelled AS (
              UPDATE disassociation_job j
                 SET state = 'cancelled', finished_at = now(), last_error = 'cancelled by check-out event ' || c.event_id
                FROM fenced c
               WHERE j.id = c.id AND j.state = 'queued'
              RETURNING j.id, c.environment_id, c.device_id
            ),
            racing AS (
              SELECT s.id, f.environment_id, f.device_id
                FROM fresh f CROSS JOIN LATERAL (
                  SELECT j.id FROM disassociation_job j
                   WHERE j.environment_id = f.environment_id AND j.device_id = f.device_id
                     AND j.state = 'sending' AND j.checked_in_at < f.occurred_at LIMIT 1) s
               WHERE f.type = 'CHECK_OUT'
            )
            SELECT 'fresh', environment_id, event_id, NULL::bigint, NULL::boolean FROM fresh
            UNION ALL SELECT 'job', environment_id, device_id, id, created FROM job
            UNION ALL SELECT 'cancel', environment_id, device_id, id, NULL FROM cancelled
            UNION ALL SELECT 'race', environment_id, device_id, id, NULL FROM racing
            """;

    static final String INSERT_EVENTS = """
            INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, user_id, locker_id,
                                      request_id, outcome, job_id)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                                 $7::text[], $8::text[], $9::text[], $10::bigint[])
            """;

    /** What one stored event did; see the outcome CHECK in V1__schema.sql. */
    public record Stored(String outcome, Long jobId) {
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
        Set<String> environments = new TreeSet<>();
        events.forEach(e -> environments.add(e.environmentId()));
        return pool.withTransaction(conn -> conn.preparedQuery(LOCK_ENVIRONMENTS)
                .execute(Tuple.of(environments.toArray(String[]::new)))
                .compose(locked -> {
                    Set<String> missing = new TreeSet<>(environments);
                    List<String> queueing = new ArrayList<>();
                    for (Row row : locked) {
                        missing.remove(row.getString(0));
                        if (Environment.Status.valueOf(row.getString(1)).queuesCheckIns()) {
                            queueing.add(row.getString(0));
                        }
                    }
                    if (!missing.isEmpty()) {
                        return Future.failedFuture(new MissingEnvironments(missing));
                    }
                    String[] queueingIds = queueing.toArray(String[]::new);
                    return conn.preparedQuery(LOCK_DEVICES).execute(devices(events))
                            .compose(x -> applyRounds(conn, rounds(events), 0, queueingIds, new HashMap<>(events.size() * 2)));
                }));
    }

    public static String key(String environmentId, String eventId) {
        return environmentId + '\u0000' + eventId;
    }

    private Future<Map<String, Stored>> applyRounds(SqlConnection conn, List<List<CheckInEvent>> rounds, int i,
                                                    String[] queueing, Map<String, Stored> stored) {
        if (i == rounds.size()) {
            return Future.succeededFuture(stored);
        }
        List<CheckInEvent> round = rounds.get(i);
        return conn.preparedQuery(APPLY_JOBS).execute(jobParams(round, queueing))
                .compose(rows -> {
                    List<CheckInEvent> fresh = new ArrayList<>();
                    List<Stored> outcomes = new ArrayList<>();
                    outcomes(round, rows, Set.of(queueing), fresh, outcomes);
                    for (int k = 0; k < fresh.size(); k++) {
                        stored.put(key(fresh.get(k).environmentId(), fresh.get(k).eventId()), outcomes.get(k));
                    }
                    return fresh.isEmpty() ? Future.succeededFuture()
                            : conn.preparedQuery(INSERT_EVENTS).execute(eventParams(fresh, outcomes)).mapEmpty();
                })
                .compose(x -> applyRounds(conn, rounds, i + 1, queueing, stored));
    }

    /** Matches the rows of {@link #APPLY_JOBS} to the round's events (one event per device in a round). */
    private static void outcomes(List<CheckInEvent> round, RowSet<Row> rows, Set<String> queueing,
                                 List<CheckInEvent> fresh, List<Stored> outcomes) {
        Set<String> freshKeys = new java.util.HashSet<>();
        Map<String, Row> jobs = new HashMap<>();
        Map<String, Long> cancels = new HashMap<>();
        Map<String, Long> races = new HashMap<>();
        for (Row row : rows) {
            String k = key(row.getString(1), row.getString(2));
            switch (row.getString(0)) {
                case "fresh" -> freshKeys.add(k);
                case "job" -> jobs.put(k, row);
                case "cancel" -> cancels.put(k, row.getLong(3));
                default -> races.put(k, row.getLong(3));
            }
        }
        for (CheckInEvent e : round) {
            if (!freshKeys.contains(key(e.environmentId(), e.eventId()))) {
                continue; // a duplicate
            }
            String device = key(e.environmentId(), e.deviceId());
            Stored s;
            if (e.type() == CheckInEvent.Type.CHECK_IN) {
                Row job = jobs.get(device);
                s = !queueing.contains(e.environmentId()) ? new Stored("skipped", null)
                        : job == null ? new Stored("superseded", null)
                        : new Stored(job.getBoolean(4) ? "queued" : "coalesced", job.getLong(3));
            } else {
                s = cancels.containsKey(device) ? new Stored("cancelled_job", cancels.get(device))
                        : races.containsKey(device) ? new Stored("cancel_race", races.get(device))
                        : new Stored("recorded", null);
            }
            fresh.add(e);
            outcomes.add(s);
        }
    }

    /** Splits events into rounds with at most one event per (environment, device), keeping arrival order. */
    static List<List<CheckInEvent>> rounds(List<CheckInEvent> events) {
        List<List<CheckInEvent>> rounds = new ArrayList<>();
        Map<String, Integer> lastRoundOfDevice = new HashMap<>();
        for (CheckInEvent e : events) {
            String device = key(e.environmentId(), e.deviceId());
            int round = lastRoundOfDevice.getOrDefault(device, -1) + 1;
            if (round == rounds.size()) {
                rounds.add(new ArrayList<>());
            }
            rounds.get(round).add(e);
            lastRoundOfDevice.put(device, round);
        }
        return rounds;
    }

    private static Tuple devices(List<CheckInEvent> events) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::deviceId));
    }

    private static Tuple jobParams(List<CheckInEvent> events, String[] queueing) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::eventId))
                .addArrayOfString(strings(events, e -> e.type().name()))
                .addArrayOfString(strings(events, CheckInEvent::deviceId))
                .addArrayOfOffsetDateTime(events.stream().map(CheckInEvent::occurredAt).toArray(OffsetDateTime[]::new))
                .addArrayOfString(strings(events, CheckInEvent::requestId))
                .addArrayOfString(queueing);
    }

    private static Tuple eventParams(List<CheckInEvent> events, List<Stored> outcomes) {
        return Tuple.tuple().addArrayOfString(strings(events, CheckInEvent::environmentId))
                .addArrayOfString(strings(events, CheckInEvent::eventId))
                .addArrayOfString(strings(events, e -> e.type().name()))
                .addArrayOfString(strings(events, CheckInEvent::deviceId))
                .addArrayOfOffsetDateTime(events.stream().map(CheckInEvent::occurredAt).toArray(OffsetDateTime[]::new))
                .addArrayOfString(strings(events, CheckInEvent::userId))
                .addArrayOfString(strings(events, CheckInEvent::lockerId))
                .addArrayOfString(strings(events, CheckInEvent::requestId))
                .addArrayOfString(outcomes.stream().map(Stored::outcome).toArray(String[]::new))
                .addArrayOfLong(outcomes.stream().map(Stored::jobId).toArray(Long[]::new));
    }

    private static String[] strings(List<CheckInEvent> events, java.util.function.Function<CheckInEvent, String> field) {
        String[] values = new String[events.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = field.apply(events.get(i));
        }
        return values;
    }
}
