package dev.roverlogout.store;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * Dead letters back to the queue ({@code POST /admin/dead-letters/replay}): by job ids (scoped to tenants) or all of
 * an environment's. Follows ingest's locking protocol ({@link EventStore}) because it queues jobs, and never replays
 * what would log out the next user of a device.
 */
public final class DeadLetterReplay {
    /** Jobs a replay by environment takes per request; the answer says when more are left. */
    public static final int REPLAY_MAX = 10_000;

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

    public DeadLetterReplay(Pool pool) {
        this.pool = pool;
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
        return pool.preparedQuery(OF_TENANTS).execute(Tuple.tuple().addArrayOfLong(ids.toArray(Long[]::new)).addArrayOfString(OperationsStore.array(tenants))).compose(rows -> {
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
}
