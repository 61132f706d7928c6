package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
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
 * lane report, a device's history, dead letters, and their replay. Reads serve the admin API only, so they favour
 * completeness over speed; the replay follows ingest's locking protocol ({@link EventStore}) because it queues jobs.
 */
public final class OperationsStore {
    /** A later job of the device makes or made the call (in REPLAY, for job j). */
    static final String SUPERSEDED = """
            EXISTS (SELECT 1 FROM disassociation_job k
                     WHERE k.environment_id = j.environment_id AND k.device_id = j.device_id AND k.id <> j.id
                       AND (k.state IN ('queued', 'sending')
                            OR k.state IN ('done', 'not_associated') AND k.checked_in_at >= j.checked_in_at))""";
    /** Jobs a replay by environment takes per request; the answer says when more are left. */
    public static final int REPLAY_MAX = 10_000;

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
    /** Of the jobs $1, those of environments of the tenants $2. */
    static final String OF_TENANTS = """
            SELECT j.id FROM disassociation_job j JOIN environment e ON e.id = j.environment_id
             WHERE j.id = ANY($1::bigint[]) AND e.tenant_id = ANY($2::text[])
            """;
    static final String FAILED_OF_ENVIRONMENT = """
            SELECT id FROM disassociation_job WHERE environment_id = $1 AND state = 'failed' ORDER BY id LIMIT $2
            """;
    /**
     * Back to queued, now, with a fresh attempt count and age (dispatch.maxAge counts from the replay), unless
     * the device was checked out after the job's check-in (replaying would log out the next user), the device
     * has a job queued or being sent (whatever its check-in time: it makes the call), or a job of a later
     * check-in is done (it made the call), or the environment is not READY or PAUSED (PENDING and DISABLED
     * environments never get calls for what arrived meanwhile). Of several dead letters of one device only the
     * newest is replayed.
     */
    static final String REPLAY = """
            WITH target AS (
              SELECT DISTINCT ON (j.environment_id, j.device_id) j.id
                FROM disassociation_job j
               WHERE j.id = ANY($1::bigint[]) AND j.state = 'failed'
                 AND NOT EXISTS (SELECT 1 FROM device_event c
                                  WHERE c.device_id = j.device_id AND c.environment_id = j.environment_id
                                    AND c.type = 'CHECK_OUT' AND c.occurred_at > j.checked_in_at)
                 AND NOT SUPERSEDED
                 AND EXISTS (SELECT 1 FROM environment e WHERE e.id = j.environment_id AND e.status IN ('READY', 'PAUSED'))
               ORDER BY j.environment_id, j.device_id, j.checked_in_at DESC, j.id DESC
            )
            UPDATE disassociation_job j
               SET state = 'queued', attempts = 0, next_attempt_at = now(), received_at = now(), finished_at = NULL,
                   last_error = 'replayed; before: ' || coalesce(j.last_error, '')
              FROM target t WHERE j.id = t.id
            RETURNING j.id, j.environment_id
            """.replace("SUPERSEDED", OperationsStore.SUPERSEDED);
    /** Why a dead letter was not replayed. */
    static final String STATES = """
            SELECT j.id, j.state,
                   CASE WHEN EXISTS (SELECT 1 FROM device_event c
                                      WHERE c.device_id = j.device_id AND c.environment_id = j.environment_id
                                        AND c.type = 'CHECK_OUT' AND c.occurred_at > j.checked_in_at) THEN 'checked_out_since'
                        WHEN NOT EXISTS (SELECT 1 FROM environment e WHERE e.id = j.environment_id
                                            AND e.status IN ('READY', 'PAUSED')) THEN 'environment_not_ready'
                        ELSE 'superseded' END
              FROM disassociation_job j WHERE j.id = ANY($1::bigint[])
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

    /** The result of a replay: jobs queued again, and the others with the reason they were left. */
    /** {@code environments}: of the replayed jobs (not in the answer; the audit trail names their tenants). */
    public record Replay(List<Long> replayed, List<JsonObject> skipped, boolean more, Set<String> environments) {
        public JsonObject toJson() {
            return new JsonObject().put("replayed", new JsonArray(new ArrayList<>(replayed)))
                    .put("skipped", new JsonArray(new ArrayList<>(skipped))).put("more", more);
        }
    }

    /**
     * Replays the given dead letters; with {@code tenants} (null = all), only those of these tenants' environments:
     * the others are reported {@code not_found}, as ids that do not exist (nobody learns another tenant's job ids).
     */
    public Future<Replay> replay(List<Long> ids, List<String> tenants) {
        if (tenants == null) {
            return replayIds(ids, false);
        }
        return pool.preparedQuery(OF_TENANTS).execute(Tuple.tuple().addArrayOfLong(ids.toArray(Long[]::new)).addArrayOfString(array(tenants))).compose(rows -> {
            Set<Long> visible = new HashSet<>();
            rows.forEach(r -> visible.add(r.getLong(0)));
            return replayIds(ids.stream().filter(visible::contains).toList(), false).map(r -> {
                List<JsonObject> skipped = new ArrayList<>(r.skipped());
                new LinkedHashSet<>(ids).stream().filter(id -> !visible.contains(id))
                        .forEach(id -> skipped.add(new JsonObject().put("id", id).put("reason", "not_found").putNull("state")));
                return new Replay(r.replayed(), skipped, r.more(), r.environments());
            });
        });
    }

    private static String[] array(List<String> tenants) {
        return tenants == null ? null : tenants.toArray(String[]::new);
    }

    /** Replays up to {@link #REPLAY_MAX} dead letters of one environment. */
    public Future<Replay> replayEnvironment(String environmentId) {
        return pool.preparedQuery(FAILED_OF_ENVIRONMENT).execute(Tuple.of(environmentId, REPLAY_MAX + 1)).compose(rows -> {
            List<Long> ids = new ArrayList<>();
            rows.forEach(r -> ids.add(r.getLong(0)));
            boolean more = ids.size() > REPLAY_MAX;
            return replayIds(more ? ids.subList(0, REPLAY_MAX) : ids, more);
        });
    }

    private Future<Replay> replayIds(List<Long> ids, boolean more) {
        if (ids.isEmpty()) {
            return Future.succeededFuture(new Replay(List.of(), List.of(), more, Set.of()));
        }
        Long[] array = ids.toArray(Long[]::new);
        Tuple t = Tuple.tuple().addArrayOfLong(array);
        return pool.withTransaction(conn -> conn.preparedQuery(JobStore.LOCK_DEVICES_OF_JOBS).execute(t)
                .compose(x -> conn.preparedQuery(REPLAY).execute(t))
                .compose(replayed -> {
                    List<Long> done = new ArrayList<>();
                    Set<String> environments = new HashSet<>();
                    replayed.forEach(r -> {
                        done.add(r.getLong(0));
                        environments.add(r.getString(1));
                    });
                    Future<?> notify = environments.isEmpty() ? Future.succeededFuture()
                            : conn.preparedQuery(EventStore.NOTIFY_QUEUED).execute(Tuple.of(environments.toArray(String[]::new)));
                    return notify.compose(x -> conn.preparedQuery(STATES).execute(t)).map(states -> {
                        Set<Long> replayedIds = new HashSet<>(done);
                        java.util.Map<Long, String> state = new java.util.HashMap<>();
                        java.util.Map<Long, String> why = new java.util.HashMap<>();
                        states.forEach(r -> {
                            state.put(r.getLong(0), r.getString(1));
                            why.put(r.getLong(0), r.getString(2));
                        });
                        List<JsonObject> skipped = new ArrayList<>();
                        for (Long id : new LinkedHashSet<>(ids)) {
                            if (replayedIds.contains(id)) {
                                continue;
                            }
                            String s = state.get(id);
                            String reason = s == null ? "not_found"
                                    : !s.equals("failed") ? "not_a_dead_letter"
                                    : why.get(id); // checked_out_since, environment_not_ready or superseded
                            skipped.add(new JsonObject().put("id", id).put("reason", reason).put("state", s));
                        }
                        return new Replay(done, skipped, more, Set.copyOf(environments));
                    });
                }));
    }

    private static String text(OffsetDateTime t) {
        return t == null ? null : t.toString();
    }
}
