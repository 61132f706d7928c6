package dev.roverlogout.store;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Optional;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * The retention cleaner's SQL: bounded delete batches that keep what fencing, coalescing, idempotency and the device
 * history still need, and its bookkeeping in {@code retention_run}. Each batch is one statement (its own
 * transaction) that answers how many rows it looked at and deleted, and how far it got (the cursor of the next).
 *
 * <p>What is never deleted: a job that is queued, sending (leased) or waiting for a retry (no {@code finished_at});
 * a dead letter younger than its retention; the newest event of a device and its newest check-out (a late check-in
 * older than a known check-out must still be superseded); the job of a device's newest event (the history still
 * shows the device's last state); the newest status change of an environment. Deletes re-check their condition on
 * the row they delete, so a job replayed meanwhile stays.
 */
public final class RetentionStore {
    /** Session-level advisory lock: one cleaner at a time across replicas, released when its connection closes. */
    public static final String TRY_LOCK = "SELECT pg_try_advisory_lock(727067, 2)";

    /** The cut-offs by the database's clock: $1..$4 = finished jobs, device events, dead letters, audit, in ms. */
    static final String CUTOFFS = """
            SELECT now() - $1 * interval '1 millisecond', now() - $2 * interval '1 millisecond',
                   now() - $3 * interval '1 millisecond', now() - $4 * interval '1 millisecond'
            """;

    /** The device's newest event (by occurredAt), for event e / job j: index probe on device_event_by_device. */
    static final String NEWEST_EVENT_OF = """
            (SELECT n.NEWEST FROM device_event n WHERE n.device_id = X.device_id AND n.environment_id = X.environment_id
              ORDER BY n.occurred_at DESC, n.event_id DESC LIMIT 1)""";

    /** $1 cursor (received_at from), $2 cut-off, $3 batch size. */
    static final String DELETE_EVENTS = """
            WITH victims AS (
              SELECT e.environment_id, e.event_id, e.received_at FROM device_event e
               WHERE e.received_at >= $1::timestamptz AND e.received_at < $2::timestamptz
                 AND e.event_id <> NEWEST_EVENT
                 AND (e.type <> 'CHECK_OUT' OR e.event_id <> (SELECT n.event_id FROM device_event n
                       WHERE n.device_id = e.device_id AND n.environment_id = e.environment_id AND n.type = 'CHECK_OUT'
                       ORDER BY n.occurred_at DESC, n.event_id DESC LIMIT 1))
               ORDER BY e.received_at LIMIT $3
            ),
            gone AS (
              DELETE FROM device_event d USING victims v
               WHERE d.environment_id = v.environment_id AND d.event_id = v.event_id RETURNING 1
            )
            SELECT (SELECT count(*) FROM victims), (SELECT count(*) FROM gone), (SELECT max(received_at) FROM victims)
            """.replace("NEWEST_EVENT", NEWEST_EVENT_OF.replace("NEWEST", "event_id").replace("X.", "e."));

    /**
     * A final job past its retention: $3 for finished jobs, $4 for dead letters. A CASE, not an OR: the planner splits
     * an OR into a BitmapOr over job_finished, loses the index order, and then evaluates every remaining candidate
     * (and its newest-event probe) for each batch of 5000 — the 10-million-row run slowed to 450 jobs/s that way.
     */
    static final String FINAL_EXPIRED = """
            (J.state IN ('done', 'not_associated', 'cancelled', 'expired', 'failed')
             AND J.finished_at < CASE WHEN J.state = 'failed' THEN $4::timestamptz ELSE $3::timestamptz END)""";

    /**
     * One environment's finished jobs and their attempts. $1 environment, $2 cursor (finished_at from), $3 cut-off
     * of finished jobs, $4 cut-off of dead letters, $5 batch size. Served by job_finished (environment, finished_at).
     */
    static final String DELETE_JOBS = """
            WITH victims AS (
              SELECT j.id, j.finished_at FROM disassociation_job j
               WHERE j.environment_id = $1 AND j.finished_at IS NOT NULL
                 AND j.finished_at >= $2::timestamptz AND j.finished_at < GREATEST($3::timestamptz, $4::timestamptz)
                 AND EXPIRED_J
                 AND j.id IS DISTINCT FROM NEWEST_JOB
               ORDER BY j.finished_at LIMIT $5
            ),
            gone AS (
              DELETE FROM disassociation_job j USING victims v WHERE j.id = v.id AND EXPIRED_J RETURNING j.id
            ),
            attempts AS (
              DELETE FROM job_attempt a USING gone g WHERE a.job_id = g.id RETURNING 1
            )
            SELECT (SELECT count(*) FROM victims), (SELECT count(*) FROM gone), (SELECT count(*) FROM attempts),
                   (SELECT max(finished_at) FROM victims)
            """.replace("EXPIRED_J", FINAL_EXPIRED.replace("J.", "j."))
            .replace("NEWEST_JOB", NEWEST_EVENT_OF.replace("NEWEST", "job_id").replace("X.", "j."));

    /** Status changes older than $1, but the newest of each environment; $2 batch size. */
    static final String DELETE_STATUS_CHANGES = """
            WITH victims AS (
              SELECT c.id FROM environment_status_change c
               WHERE c.changed_at < $1::timestamptz
                 AND c.id <> (SELECT n.id FROM environment_status_change n WHERE n.environment_id = c.environment_id
                               ORDER BY n.changed_at DESC, n.id DESC LIMIT 1)
               ORDER BY c.id LIMIT $2
            ),
            gone AS (DELETE FROM environment_status_change c USING victims v WHERE c.id = v.id RETURNING 1)
            SELECT (SELECT count(*) FROM victims), (SELECT count(*) FROM gone)
            """;

    /** Audit entries older than $1 (retention.audit); $2 batch size. */
    static final String DELETE_AUDIT = """
            WITH victims AS (SELECT id FROM audit_entry WHERE at < $1::timestamptz ORDER BY at LIMIT $2),
                 gone AS (DELETE FROM audit_entry a USING victims v WHERE a.id = v.id RETURNING 1)
            SELECT (SELECT count(*) FROM victims), (SELECT count(*) FROM gone)
            """;

    static final String ENVIRONMENTS = "SELECT id FROM environment ORDER BY id";

    /** A new run; runs still 'running' were left by a cleaner that died (this one holds the lock now). */
    static final String START_RUN = """
            WITH abandoned AS (
              UPDATE retention_run SET outcome = 'abandoned', finished_at = now() WHERE outcome = 'running'
            )
            INSERT INTO retention_run (replica) VALUES ($1) RETURNING id
            """;
    static final String PROGRESS = """
            UPDATE retention_run SET device_events = $2, jobs = $3, job_attempts = $4, status_changes = $5,
                   audit_entries = $6 WHERE id = $1
            """;
    static final String FINISH = """
            UPDATE retention_run SET device_events = $2, jobs = $3, job_attempts = $4, status_changes = $5,
                   audit_entries = $6, outcome = $7, error = $8, finished_at = now()
             WHERE id = $1
            """;
    /** The newest 1000 runs are kept. */
    static final String PRUNE_RUNS = """
            DELETE FROM retention_run WHERE id < (SELECT id FROM retention_run ORDER BY id DESC OFFSET 999 LIMIT 1)
            """;
    static final String RUN_COLUMNS = """
            id, replica, started_at, finished_at, outcome, device_events, jobs, job_attempts, status_changes, error,
            EXTRACT(EPOCH FROM COALESCE(finished_at, now()) - started_at)::float8, audit_entries""";
    static final String LAST_FINISHED = "SELECT " + RUN_COLUMNS
            + " FROM retention_run WHERE outcome <> 'running' ORDER BY id DESC LIMIT 1";
    static final String RUNNING = "SELECT " + RUN_COLUMNS + " FROM retention_run WHERE outcome = 'running' ORDER BY id DESC LIMIT 1";
    /** The oldest row of each table (kept rows included: a device's newest event may be years old). Index probes. */
    static final String OLDEST = """
            SELECT (SELECT received_at FROM device_event ORDER BY received_at LIMIT 1),
                   (SELECT received_at FROM disassociation_job ORDER BY id LIMIT 1),
                   (SELECT started_at FROM job_attempt ORDER BY id LIMIT 1),
                   (SELECT changed_at FROM environment_status_change ORDER BY id LIMIT 1),
                   (SELECT at FROM audit_entry ORDER BY at LIMIT 1)
            """;

    /** The cut-offs of one run (everything older is expired). */
    public record Cutoffs(OffsetDateTime finishedJobs, OffsetDateTime deviceEvents, OffsetDateTime deadLetters,
                          OffsetDateTime audit) {
    }

    /** What one batch did: rows it looked at ({@code scanned} = batch size means more may be left), deleted, cursor. */
    public record Batch(long scanned, long deleted, long attemptsDeleted, OffsetDateTime reached) {
    }

    /** Rows deleted so far in a run, per table. */
    public record Counts(long deviceEvents, long jobs, long jobAttempts, long statusChanges, long auditEntries) {
        public static final Counts NONE = new Counts(0, 0, 0, 0, 0);

        public Counts plus(Counts o) {
            return new Counts(deviceEvents + o.deviceEvents, jobs + o.jobs, jobAttempts + o.jobAttempts,
                    statusChanges + o.statusChanges, auditEntries + o.auditEntries);
        }
    }

    private final Pool pool;

    public RetentionStore(Pool pool) {
        this.pool = pool;
    }

    public static Future<Cutoffs> cutoffs(SqlClient db, Duration finishedJobs, Duration deviceEvents, Duration deadLetters,
                                          Duration audit) {
        return db.preparedQuery(CUTOFFS).execute(Tuple.of(finishedJobs.toMillis(), deviceEvents.toMillis(),
                deadLetters.toMillis(), audit.toMillis())).map(rows -> {
            Row r = rows.iterator().next();
            return new Cutoffs(r.getOffsetDateTime(0), r.getOffsetDateTime(1), r.getOffsetDateTime(2), r.getOffsetDateTime(3));
        });
    }

    public static Future<Batch> deleteEvents(SqlClient db, OffsetDateTime from, Cutoffs c, int limit) {
        return db.preparedQuery(DELETE_EVENTS).execute(Tuple.of(from, c.deviceEvents(), limit)).map(rows -> {
            Row r = rows.iterator().next();
            return new Batch(r.getLong(0), r.getLong(1), 0, r.getOffsetDateTime(2));
        });
    }

    public static Future<Batch> deleteJobs(SqlClient db, String environmentId, OffsetDateTime from, Cutoffs c, int limit) {
        return db.preparedQuery(DELETE_JOBS).execute(Tuple.of(environmentId, from, c.finishedJobs(), c.deadLetters(), limit))
                .map(rows -> {
                    Row r = rows.iterator().next();
                    return new Batch(r.getLong(0), r.getLong(1), r.getLong(2), r.getOffsetDateTime(3));
                });
    }

    public static Future<Batch> deleteStatusChanges(SqlClient db, Cutoffs c, int limit) {
        return db.preparedQuery(DELETE_STATUS_CHANGES).execute(Tuple.of(c.audit(), limit)).map(rows -> {
            Row r = rows.iterator().next();
            return new Batch(r.getLong(0), r.getLong(1), 0, null);
        });
    }

    public static Future<Batch> deleteAudit(SqlClient db, Cutoffs c, int limit) {
        return db.preparedQuery(DELETE_AUDIT).execute(Tuple.of(c.audit(), limit)).map(rows -> {
            Row r = rows.iterator().next();
            return new Batch(r.getLong(0), r.getLong(1), 0, null);
        });
    }

    public static Future<java.util.List<String>> environments(SqlClient db) {
        return db.query(ENVIRONMENTS).execute().map(rows -> {
            java.util.List<String> ids = new java.util.ArrayList<>();
            rows.forEach(r -> ids.add(r.getString(0)));
            return ids;
        });
    }

    public static Future<Long> startRun(SqlClient db, String replica) {
        return db.preparedQuery(START_RUN).execute(Tuple.of(replica)).map(rows -> rows.iterator().next().getLong(0));
    }

    public static Future<Void> progress(SqlClient db, long run, Counts n) {
        return db.preparedQuery(PROGRESS).execute(Tuple.of(run, n.deviceEvents(), n.jobs(), n.jobAttempts(), n.statusChanges(),
                        n.auditEntries())).mapEmpty();
    }

    /** Ends a run ({@code outcome} completed, stopped or failed) and keeps only the newest runs. */
    public static Future<Void> finish(SqlClient db, long run, Counts n, String outcome, String error) {
        return db.preparedQuery(FINISH).execute(Tuple.tuple().addLong(run).addLong(n.deviceEvents()).addLong(n.jobs())
                        .addLong(n.jobAttempts()).addLong(n.statusChanges()).addLong(n.auditEntries()).addString(outcome)
                        .addString(error))
                .compose(x -> db.query(PRUNE_RUNS).execute()).mapEmpty();
    }

    /** When the last run (of any replica) ended, for rlg_retention_last_run_timestamp_seconds. */
    public Future<Optional<OffsetDateTime>> lastRunEnd() {
        return pool.query(LAST_FINISHED).execute().map(rows -> rows.size() == 0 ? Optional.empty()
                : Optional.ofNullable(rows.iterator().next().getOffsetDateTime(3)));
    }

    /** GET /admin/retention's data: the last finished run, the one under way, and the oldest row of each table. */
    public Future<JsonObject> status() {
        return pool.query(LAST_FINISHED).execute().compose(last -> pool.query(RUNNING).execute().compose(running ->
                pool.query(OLDEST).execute().map(oldest -> {
                    Row o = oldest.iterator().next();
                    return new JsonObject()
                            .put("lastRun", last.size() == 0 ? null : run(last.iterator().next()))
                            .put("running", running.size() == 0 ? null : run(running.iterator().next()))
                            .put("oldest", new JsonObject().put("device_event", text(o.getOffsetDateTime(0)))
                                    .put("disassociation_job", text(o.getOffsetDateTime(1)))
                                    .put("job_attempt", text(o.getOffsetDateTime(2)))
                                    .put("environment_status_change", text(o.getOffsetDateTime(3)))
                                    .put("audit_entry", text(o.getOffsetDateTime(4))));
                })));
    }

    private static JsonObject run(Row r) {
        return new JsonObject().put("id", r.getLong(0)).put("replica", r.getString(1))
                .put("startedAt", text(r.getOffsetDateTime(2))).put("finishedAt", text(r.getOffsetDateTime(3)))
                .put("outcome", r.getString(4)).put("durationSeconds", r.getDouble(10))
                .put("deleted", new JsonObject().put("device_event", r.getLong(5)).put("disassociation_job", r.getLong(6))
                        .put("job_attempt", r.getLong(7)).put("environment_status_change", r.getLong(8))
                        .put("audit_entry", r.getLong(11)))
                .put("error", r.getString(9));
    }

    private static String text(OffsetDateTime t) {
        return t == null ? null : t.toString();
    }
}
