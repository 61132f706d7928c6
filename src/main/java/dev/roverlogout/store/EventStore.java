package dev.roverlogout.store;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
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
     * One round's jobs. Returns a row per new event ('fresh', its 1-based position in the round), per job created or
     * coalesced into ('job', environment, device, job id, queued|coalesced) and per open job a check-out fenced
     ('fence', position, job id, its state now: cancelled, or sending when the call was already under way).
     * Events are matched by position, never by their text (an eventId may not survive the round trip unchanged);
     * jobs by environment and device, whose characters are restricted.
     * $1 environment ids, $2 event ids, $3 types, $4 device ids, $5 occurredAt, $6 request ids, $7 the READY/PAUSED
     * environments (whose check-ins queue).
     */
    static final String APPLY_JOBS = """
            WITH input AS (
              SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
                WITH ORDINALITY AS i(environment_id, event_id, type, device_id, occurred_at, request_id, ord)
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
            open_jobs AS (
              SELECT f.ord, f.event_id, f.occurred_at, o.id
                FROM fresh f CROSS JOIN LATERAL (
                  (SELECT j.id FROM disassociation_job j
                    WHERE j.environment_id = f.environment_id AND j.device_id = f.device_id
                      AND j.state = 'queued' AND j.checked_in_at < f.occurred_at)
                  UNION ALL
                  (SELECT j.id FROM disassociation_job j
                    WHERE j.environment_id = f.environment_id AND j.device_id = f.device_id
                      AND j.state = 'sending' AND j.checked_in_at < f.occurred_at)) o
               WHERE f.type = 'CHECK_OUT'
            ),
            fenced AS (
              -- one statement for both states: if a lane claimed the job after this statement's snapshot, the row
              -- is re-read (READ COMMITTED) and the fence lands on the 'sending' job instead of being lost
              UPDATE disassociation_job j
                 SET state = CASE WHEN j.state = 'queued' THEN 'cancelled' ELSE j.state END,
                     finished_at = CASE WHEN j.state = 'queued' THEN now() ELSE j.finished_at END,
                     last_error = CASE WHEN j.state = 'queued' THEN 'cancelled by check-out event ' || o.event_id
                                       ELSE j.last_error END,
                     fenced_at = GREATEST(j.fenced_at, o.occurred_at)
                FROM open_jobs o
               WHERE j.id = o.id AND j.state IN ('queued', 'sending')
              RETURNING j.id, o.ord, j.state
            )
            SELECT 'fresh', ord, NULL::text, NULL::text, NULL::bigint, NULL::text FROM fresh
            UNION ALL SELECT 'job', NULL, environment_id, device_id, id, CASE WHEN created THEN 'queued' ELSE 'coalesced' END
              FROM job
            UNION ALL SELECT 'fence', ord, NULL, NULL, id, state FROM fenced
            """;

    /** Wakes the lanes of environments that got new jobs (delivered on commit, one per environment). */
    public static final String JOBS_QUEUED_CHANNEL = "rlg_jobs_queued";
    static final String NOTIFY_QUEUED = "SELECT pg_notify('" + JOBS_QUEUED_CHANNEL + "', e) FROM unnest($1::text[]) e";
    /**
     * Tells the lane of a job that a check-out fenced it while it was claimed (payload {@code environment:jobId}):
     * if the call has not left yet, the lane drops it instead of logging out the next user.
     */
    public static final String JOBS_FENCED_CHANNEL = "rlg_jobs_fenced";
    static final String NOTIFY_FENCED = "SELECT pg_notify('" + JOBS_FENCED_CHANNEL + "', p) FROM unnest($1::text[]) p";

    static final String INSERT_EVENTS = """
            INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, user_id, locker_id,
                                      request_id, outcome, job_id)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],
                                 $7::text[], $8::text[], $9::text[], $10::bigint[])
            """;

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
                    return conn.preparedQuery(LOCK_DEVICES).execute(EventRounds.devices(events))
                            .compose(x -> applyRounds(conn, EventRounds.rounds(events), 0, queueingIds, new HashMap<>(events.size() * 2)))
                            .compose(stored -> notifyQueued(conn, events, stored).map(stored));
                }));
    }

    private static Future<Void> notifyQueued(SqlConnection conn, List<CheckInEvent> events, Map<String, Stored> stored) {
        Set<String> woken = new TreeSet<>();
        Set<String> fenced = new TreeSet<>();
        for (CheckInEvent e : events) {
            Stored s = stored.get(key(e.environmentId(), e.eventId()));
            if (s != null && "queued".equals(s.outcome())) {
                woken.add(e.environmentId());
            }
            if (s != null && s.raced() && s.jobId() != null) {
                fenced.add(e.environmentId() + ":" + s.jobId());
            }
        }
        Future<Void> queued = woken.isEmpty() ? Future.succeededFuture()
                : conn.preparedQuery(NOTIFY_QUEUED).execute(Tuple.of(woken.toArray(String[]::new))).mapEmpty();
        return fenced.isEmpty() ? queued : queued.compose(x -> conn.preparedQuery(NOTIFY_FENCED)
                .execute(Tuple.of(fenced.toArray(String[]::new))).mapEmpty());
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
        return conn.preparedQuery(APPLY_JOBS).execute(EventRounds.jobParams(round, queueing))
                .compose(rows -> {
                    List<CheckInEvent> fresh = new ArrayList<>();
                    List<Stored> outcomes = new ArrayList<>();
                    EventRounds.outcomes(round, rows, Set.of(queueing), fresh, outcomes);
                    for (int k = 0; k < fresh.size(); k++) {
                        stored.put(key(fresh.get(k).environmentId(), fresh.get(k).eventId()), outcomes.get(k));
                    }
                    return fresh.isEmpty() ? Future.succeededFuture()
                            : conn.preparedQuery(INSERT_EVENTS).execute(EventRounds.eventParams(fresh, outcomes)).mapEmpty();
                })
                .compose(x -> applyRounds(conn, rounds, i + 1, queueing, stored));
    }
}
