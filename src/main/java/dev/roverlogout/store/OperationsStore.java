package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/**
 * What operators ask of the queue (contract §5, Operations): per-environment queue state with the owning replica's
 * lane report, a device's history, dead letters (their replay is {@link DeadLetterReplay}). Reads serve the admin API
 * only, so they favour completeness over speed.
 */
public final class OperationsStore {
    /** A later job of the device makes or made the call (in {@link DeadLetterReplay}'s statement, for job j). */
    static final String SUPERSEDED = """
            EXISTS (SELECT 1 FROM disassociation_job k
                     WHERE k.environment_id = j.environment_id AND k.device_id = j.device_id AND k.id <> j.id
                       AND (k.state IN ('queued', 'sending')
                            OR k.state IN ('done', 'not_associated') AND k.checked_in_at >= j.checked_in_at))""";

    static final String QUEUE = """
            SELECT e.id, e.status, e.rate_limit_per_second, e.burst, e.max_concurrency,
                   q.queued, q.due, q.retrying,
                   GREATEST(0, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - q.oldest), 0))::float8,
                   s.in_flight, f.done, f.not_associated, f.failed, f.expired, f.cancelled,
                   l.owner, l.expires_at, l.fence, l.current_rate, l.circuit, l.reported_at,
                   COALESCE(l.expires_at >= now(), false)
              FROM environment e
              LEFT JOIN LATERAL (SELECT count(*) AS queued, count(*) FILTER (WHERE j.next_attempt_at <= now()) AS due,
                                        count(*) FILTER (WHERE j.attempts > 0) AS retrying, min(j.received_at) AS oldest
                                   FROM disassociation_job j WHERE j.environment_id = e.id AND j.state = 'queued') q ON true
              LEFT JOIN LATERAL (SELECT count(*) AS in_flight
                                   FROM disassociation_job j WHERE j.environment_id = e.id AND j.state = 'sending') s ON true
              LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE j.state = 'done') AS done,
                                        count(*) FILTER (WHERE j.state = 'not_associated') AS not_associated,
                                        count(*) FILTER (WHERE j.state = 'failed') AS failed,
                                        count(*) FILTER (WHERE j.state = 'expired') AS expired,
                                        count(*) FILTER (WHERE j.state = 'cancelled') AS cancelled
                                   FROM disassociation_job j
                                  WHERE j.environment_id = e.id AND j.finished_at > now() - interval '5 minutes') f ON true
              LEFT JOIN lane_lease l ON l.environment_id = e.id
             WHERE ($1::text IS NULL OR e.id = $1) AND ($2::text[] IS NULL OR e.tenant_id = ANY($2))
             ORDER BY e.id
            """;
    static final String REPLICAS = "SELECT id, started_at, heartbeat_at FROM gateway_replica ORDER BY id";

    static final String DEVICE_EVENTS = """
            SELECT environment_id, event_id, type, occurred_at, received_at, user_id, locker_id, outcome, job_id, request_id
              FROM device_event WHERE device_id = $1 AND ($2::text IS NULL OR environment_id = $2)
               AND ($4::text[] IS NULL OR environment_id IN (SELECT id FROM environment WHERE tenant_id = ANY($4)))
             ORDER BY occurred_at DESC, received_at DESC LIMIT $3
            """;
    static final String JOBS = """
            SELECT id, environment_id, state, attempts, checked_in_at, received_at, next_attempt_at, finished_at,
                   last_status, last_error, request_id, fenced_at
              FROM disassociation_job WHERE id = ANY($1::bigint[]) ORDER BY received_at DESC, id DESC
            """;
    /** The attempts of the history's jobs; their environment comes from the jobs (no join: a probe per job id). */
    static final String ATTEMPTS = """
            SELECT a.job_id, a.attempt, a.replica, a.started_at, a.finished_at, a.http_status, a.outcome, a.error,
                   a.request_id
              FROM job_attempt a
             WHERE a.job_id = ANY($1::bigint[]) ORDER BY a.started_at DESC, a.id DESC
            """;
    static final String DEAD_LETTERS = """
            SELECT id, environment_id, device_id, attempts, checked_in_at, received_at, finished_at, last_status,
                   last_error, request_id
              FROM disassociation_job WHERE state = 'failed' AND ($1::text IS NULL OR environment_id = $1)
               AND ($3::text[] IS NULL OR environment_id IN (SELECT id FROM environment WHERE tenant_id = ANY($3)))
             ORDER BY finished_at DESC, id DESC LIMIT $2
            """;
    /** Jobs of environment $1 that finished (a final answer from Epic, or given up) per minute over the last hour. */
    static final String FINISHED_PER_MINUTE = """
            SELECT (EXTRACT(EPOCH FROM date_trunc('minute', finished_at)) / 60)::bigint, count(*)
              FROM disassociation_job
             WHERE environment_id = $1 AND finished_at IS NOT NULL AND finished_at > now() - interval '61 minutes'
             GROUP BY 1
            """;

    private final Pool pool;

    public OperationsStore(Pool pool) {
        this.pool = pool;
    }

    /**
     * Queue state per environment (all when {@code environmentId} is null) of the given tenants (null = all), and the
     * live replicas.
     */
    public Future<JsonObject> queue(String environmentId, List<String> tenants) {
        return pool.preparedQuery(QUEUE).execute(Tuple.tuple().addString(environmentId).addArrayOfString(array(tenants))).compose(rows -> {
            JsonArray envs = new JsonArray();
            for (Row r : rows) {
                boolean held = r.getBoolean(21);
                JsonObject owner = held ? new JsonObject().put("replica", r.getString(15))
                        .put("leaseExpiresAt", text(r.getOffsetDateTime(16))).put("fence", r.getLong(17))
                        .put("reportedAt", text(r.getOffsetDateTime(20))) : null;
                envs.add(new JsonObject()
                        .put("environmentId", r.getString(0)).put("status", r.getString(1))
                        .put("queued", r.getLong(5)).put("due", r.getLong(6)).put("retrying", r.getLong(7))
                        .put("inFlight", r.getLong(9)).put("oldestQueuedAgeSeconds", r.getDouble(8))
                        .put("last5Minutes", new JsonObject().put("done", r.getLong(10)).put("notAssociated", r.getLong(11))
                                .put("failed", r.getLong(12)).put("expired", r.getLong(13)).put("cancelled", r.getLong(14)))
                        .put("rate", new JsonObject().put("configuredPerSecond", r.getDouble(2)).put("burst", r.getInteger(3))
                                .put("maxConcurrency", r.getInteger(4))
                                .put("currentPerSecond", held ? r.getDouble(18) : null))
                        .put("circuit", held ? r.getString(19) : null)
                        .put("owner", owner));
            }
            return pool.preparedQuery(REPLICAS).execute().map(replicas -> {
                JsonArray a = new JsonArray();
                replicas.forEach(r -> a.add(new JsonObject().put("id", r.getString(0))
                        .put("startedAt", text(r.getOffsetDateTime(1))).put("heartbeatAt", text(r.getOffsetDateTime(2)))));
                return new JsonObject().put("environments", envs).put("replicas", a);
            });
        });
    }

    /** The device's events (newest first, at most {@code limit}), its jobs and their Epic attempts. */
    public Future<JsonObject> deviceHistory(String deviceId, String environmentId, int limit, List<String> tenants) {
        return pool.preparedQuery(DEVICE_EVENTS).execute(Tuple.tuple().addString(deviceId).addString(environmentId).addInteger(limit)
                .addArrayOfString(array(tenants))).compose(rows -> {
            JsonArray events = new JsonArray();
            Set<Long> jobIds = new LinkedHashSet<>();
            for (Row r : rows) {
                Long jobId = r.getLong(8);
                if (jobId != null) {
                    jobIds.add(jobId);
                }
                events.add(new JsonObject().put("environmentId", r.getString(0)).put("eventId", r.getString(1))
                        .put("type", r.getString(2)).put("occurredAt", text(r.getOffsetDateTime(3)))
                        .put("receivedAt", text(r.getOffsetDateTime(4))).put("userId", r.getString(5))
                        .put("lockerId", r.getString(6)).put("outcome", r.getString(7)).put("jobId", jobId)
                        .put("requestId", r.getString(9)));
            }
            JsonObject history = new JsonObject().put("deviceId", deviceId).put("environmentId", environmentId)
                    .put("events", events);
            if (events.isEmpty()) {
                return Future.succeededFuture(history.put("jobs", new JsonArray()).put("attempts", new JsonArray()));
            }
            // jobs and attempts need only the job ids: both statements go out at once (the pool pipelines them)
            Tuple ids = Tuple.tuple().addArrayOfLong(jobIds.toArray(Long[]::new));
            Future<io.vertx.sqlclient.RowSet<Row>> jobRows = pool.preparedQuery(JOBS).execute(ids);
            Future<io.vertx.sqlclient.RowSet<Row>> attemptRows = pool.preparedQuery(ATTEMPTS).execute(ids);
            return Future.all(jobRows, attemptRows).map(x -> {
                JsonArray jobs = new JsonArray();
                java.util.Map<Long, String> environmentOfJob = new java.util.HashMap<>();
                jobRows.result().forEach(r -> {
                    environmentOfJob.put(r.getLong(0), r.getString(1));
                    jobs.add(new JsonObject().put("id", r.getLong(0)).put("environmentId", r.getString(1))
                            .put("state", r.getString(2)).put("attempts", r.getInteger(3))
                            .put("checkedInAt", text(r.getOffsetDateTime(4))).put("receivedAt", text(r.getOffsetDateTime(5)))
                            .put("nextAttemptAt", text(r.getOffsetDateTime(6))).put("finishedAt", text(r.getOffsetDateTime(7)))
                            .put("lastStatus", r.getInteger(8)).put("lastError", r.getString(9))
                            .put("requestId", r.getString(10))
                            // a check-out cancels a queued job (no call was under way) and fences a job being sent
                            .put("checkedOutDuringCallAt", "cancelled".equals(r.getString(2)) ? null : text(r.getOffsetDateTime(11)))
                            .put("cancelledByCheckOutAt", "cancelled".equals(r.getString(2)) ? text(r.getOffsetDateTime(11)) : null));
                });
                JsonArray attempts = new JsonArray();
                attemptRows.result().forEach(r -> attempts.add(new JsonObject().put("jobId", r.getLong(0))
                        .put("environmentId", environmentOfJob.get(r.getLong(0))).put("attempt", r.getInteger(1))
                        .put("replica", r.getString(2)).put("startedAt", text(r.getOffsetDateTime(3)))
                        .put("finishedAt", text(r.getOffsetDateTime(4))).put("httpStatus", r.getInteger(5))
                        .put("outcome", r.getString(6)).put("error", r.getString(7)).put("requestId", r.getString(8))));
                return history.put("jobs", jobs).put("attempts", attempts);
            });
        });
    }

    /** Epoch minute → jobs of the environment that finished in it, over the last hour (index job_finished). */
    public Future<java.util.Map<Long, Long>> finishedPerMinute(String environmentId) {
        return pool.preparedQuery(FINISHED_PER_MINUTE).execute(Tuple.of(environmentId)).map(rows -> {
            java.util.Map<Long, Long> out = new java.util.HashMap<>();
            rows.forEach(r -> out.put(r.getLong(0), r.getLong(1)));
            return out;
        });
    }

    /** Dead letters (failed jobs), newest first. */
    public Future<JsonArray> deadLetters(String environmentId, int limit, List<String> tenants) {
        return pool.preparedQuery(DEAD_LETTERS).execute(Tuple.tuple().addString(environmentId).addInteger(limit)
                .addArrayOfString(array(tenants))).map(rows -> {
            JsonArray a = new JsonArray();
            rows.forEach(r -> a.add(new JsonObject().put("id", r.getLong(0)).put("environmentId", r.getString(1))
                    .put("deviceId", r.getString(2)).put("attempts", r.getInteger(3))
                    .put("checkedInAt", text(r.getOffsetDateTime(4))).put("receivedAt", text(r.getOffsetDateTime(5)))
                    .put("failedAt", text(r.getOffsetDateTime(6))).put("lastStatus", r.getInteger(7))
                    .put("lastError", r.getString(8)).put("requestId", r.getString(9))));
            return a;
        });
    }

    static String[] array(List<String> tenants) {
        return tenants == null ? null : tenants.toArray(String[]::new);
    }

    private static String text(OffsetDateTime t) {
        return t == null ? null : t.toString();
    }
}
