package dev.roverlogout.store;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

/**
 * Disassociation jobs as the dispatch lanes see them (issue 4): claim due jobs in batches, record outcomes in
 * batches, rescue jobs whose lease ran out. Every statement is set-based.
 *
 * <p>Locking follows ingest's protocol ({@link EventStore}): statements that may put a job back to
 * {@code queued} first lock the devices' rows in key order, so a requeue never collides with a check-in that
 * is queueing a newer job for the same device, and never misses a check-out that fenced it.
 *
 * <p>Outcome writes are fenced by the lease: only the owner with the current lease fence may move a job out of
 * {@code sending}; a replica that lost its lease has its late writes ignored.
 */
public final class JobStore {
    static final String CLAIM = """
            WITH picked AS (
              SELECT id FROM disassociation_job
               WHERE environment_id = $1 AND state = 'queued' AND next_attempt_at <= now()
                 -- the database's status decides, not a lane's cached copy: a pause stops claims at once
                 AND EXISTS (SELECT 1 FROM environment e WHERE e.id = $1 AND e.status = 'READY')
               -- exactly job_claim's order, so that no plan needs a sort: with statistics that count few queued jobs
               -- (a table full of finished ones), a plan on another partial index of queued jobs plus a sort looked as
               -- cheap, and sorted the environment's whole queue for every claim (drain ~3x slower, BENCHMARKS.md)
               ORDER BY next_attempt_at
               LIMIT $2
               FOR UPDATE SKIP LOCKED
            )
            UPDATE disassociation_job j
               SET state = 'sending', lease_owner = $3, lease_fence = $4,
                   lease_expires_at = now() + $5 * interval '1 millisecond', attempts = j.attempts + 1
             -- by key, not joined: the generic plan cannot know LIMIT $2 and guesses a tenth of the queue, and with a
             -- large backlog a join chose a merge join that read the whole table for every claim (ClaimPlanTest)
             WHERE j.id = ANY (ARRAY(SELECT id FROM picked))
            RETURNING j.id, j.environment_id, j.device_id, j.attempts, j.checked_in_at, j.received_at, j.request_id
            """;

    /**
     * Whether job {@code j}'s device already has a queued job (a newer check-in): a retry or rescue of {@code j}
     * then merges into it instead of making a second call. An index probe per job (job_queued_per_device).
     */
    static final String NEWER_QUEUED_JOB = "EXISTS (SELECT 1 FROM disassociation_job q WHERE q.environment_id = "
            + "j.environment_id AND q.device_id = j.device_id AND q.state = 'queued')";

    static final String LOCK_DEVICES_OF_JOBS = """
            SELECT d.environment_id, d.device_id FROM device d
              JOIN disassociation_job j ON j.environment_id = d.environment_id AND j.device_id = d.device_id
             WHERE j.id = ANY($1::bigint[])
             ORDER BY 1, 2
               FOR UPDATE OF d
            """;

    /**
     * $1 job ids, $2 outcomes (done, not_associated, retry, failed, expired), $3 HTTP statuses, $4 errors,
     * $5 next attempt times (retry only), $6 lease owner, $7 lease fence, and per call made: $8 attempt number,
     * $9 started, $10 answered, $11 request id ($9 null = no call was made, e.g. expired before sending).
     * A retry of a fenced job, or of a job whose device has a newer queued job, ends as cancelled: the newer job
     * (or nobody) makes the call. Of several retries of one device's jobs in one batch (a second check-in came
     * while the first job was being sent, and both calls failed) only the newest goes back to the queue, the
     * others merge into it: the queue holds one job per device (job_queued_per_device). Every call made is recorded in job_attempt for the device history, also when
     * the lease was lost meanwhile (the call happened; only the job's state is the new owner's to write).
     */
    static final String RECORD = """
            WITH result AS (
              SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::timestamptz[],
                                   $8::int[], $9::timestamptz[], $10::timestamptz[], $11::text[])
                AS r(id, outcome, http_status, error, next_attempt_at, attempt, started_at, answered_at, request_id)
            ),
            candidates AS (
              SELECT r.*, j.environment_id AS env, j.device_id AS dev, j.checked_in_at, j.fenced_at IS NOT NULL AS fenced,
                     (r.outcome = 'retry' AND j.fenced_at IS NULL AND NOT NEWER_QUEUED_JOB
                      AND j.state = 'sending' AND j.lease_owner = $6 AND j.lease_fence = $7) AS requeue
                FROM result r JOIN disassociation_job j ON j.id = r.id
            ),
            decided AS (
              SELECT c.*, (c.outcome = 'retry' AND (NOT c.requeue OR row_number() OVER (
                             PARTITION BY c.requeue, c.env, c.dev ORDER BY c.checked_in_at DESC, c.id DESC) > 1)) AS dropped
                FROM candidates c
            ),
            attempts AS (
              INSERT INTO job_attempt (job_id, attempt, replica, started_at, finished_at, http_status, outcome, error, request_id)
              SELECT d.id, d.attempt, $6, d.started_at, d.answered_at, d.http_status, d.outcome, d.error, d.request_id
                FROM decided d WHERE d.started_at IS NOT NULL
            )
            UPDATE disassociation_job j
               SET state = CASE WHEN d.outcome <> 'retry' THEN d.outcome WHEN d.dropped THEN 'cancelled' ELSE 'queued' END,
                   next_attempt_at = CASE WHEN d.outcome = 'retry' THEN d.next_attempt_at ELSE j.next_attempt_at END,
                   finished_at = CASE WHEN d.outcome = 'retry' AND NOT d.dropped THEN NULL ELSE now() END,
                   last_status = d.http_status,
                   last_error = CASE WHEN d.dropped AND d.fenced
                                     THEN 'cancelled before retry: checked out during the call; ' || coalesce(d.error, '')
                                     ELSE d.error END,
                   lease_owner = NULL, lease_expires_at = NULL, lease_fence = NULL
              FROM decided d
             WHERE j.id = d.id AND j.state = 'sending' AND j.lease_owner = $6 AND j.lease_fence = $7
            RETURNING j.id, j.state
            """.replace("NEWER_QUEUED_JOB", NEWER_QUEUED_JOB);

    /**
     * Claimed jobs a lane gives back unsent (it lost or gave up its lease): queued again at once, the claim's
     * attempt not counted. Only the lease holder's own claims.
     */
    static final String UNCLAIM = requeueDecision(
            "j.id = ANY($1::bigint[]) AND j.state = 'sending' AND j.lease_owner = $2 AND j.lease_fence = $3") + """
            UPDATE disassociation_job j
               SET state = CASE WHEN d.dropped THEN 'cancelled' ELSE 'queued' END,
                   finished_at = CASE WHEN d.dropped THEN now() ELSE NULL END,
                   last_error = CASE WHEN d.dropped THEN 'cancelled before sending: checked out, or a newer job queued'
                                     ELSE j.last_error END,
                   attempts = j.attempts - 1, lease_owner = NULL, lease_expires_at = NULL, lease_fence = NULL
              FROM decided d WHERE j.id = d.id AND j.state = 'sending' AND j.lease_owner = $2 AND j.lease_fence = $3
            RETURNING j.id, j.state
            """;

    static final String EXPIRED_LEASES = """
            SELECT id FROM disassociation_job WHERE state = 'sending' AND lease_expires_at < now()
             ORDER BY lease_expires_at LIMIT $1
            """;

    /**
     * Expired leases go back to queued (a crash may repeat only the calls that were in flight); fenced ones, ones
     * whose device has a queued job, and all but the newest of one device's jobs end cancelled.
     */
    static final String RESCUE = requeueDecision(
            "j.id = ANY($1::bigint[]) AND j.state = 'sending' AND j.lease_expires_at < now()") + """
            UPDATE disassociation_job j
               SET state = CASE WHEN d.dropped THEN 'cancelled' ELSE 'queued' END,
                   finished_at = CASE WHEN d.dropped THEN now() ELSE NULL END,
                   last_error = 'lease of ' || j.lease_owner || ' expired during the call',
                   lease_owner = NULL, lease_expires_at = NULL, lease_fence = NULL
              FROM decided d
             WHERE j.id = d.id AND j.state = 'sending' AND j.lease_expires_at < now()
            RETURNING j.id, j.state
            """;

    /**
     * The head of a statement that puts {@code sending} jobs (those matching {@code filter}, alias j) back in the
     * queue: CTE {@code decided(id, dropped)}, dropped = cancel instead of requeue, because the job is fenced by a
     * check-out, its device has a queued job, or a newer job of the same device is requeued by this statement
     * (the queue holds one job per device: job_queued_per_device).
     */
    private static String requeueDecision(String filter) {
        return """
            WITH candidates AS (
              SELECT j.id, j.environment_id, j.device_id, j.checked_in_at, (j.fenced_at IS NULL AND NOT NEWER_QUEUED_JOB) AS requeue
                FROM disassociation_job j WHERE FILTER
            ),
            decided AS (
              SELECT c.id, (NOT c.requeue OR row_number() OVER (
                       PARTITION BY c.requeue, c.environment_id, c.device_id ORDER BY c.checked_in_at DESC, c.id DESC) > 1) AS dropped
                FROM candidates c
            )
            """.replace("NEWER_QUEUED_JOB", NEWER_QUEUED_JOB).replace("FILTER", filter);
    }

    /** A job claimed for sending. {@code attempts} counts this attempt. */
    public record ClaimedJob(long id, String environmentId, String deviceId, int attempts, OffsetDateTime checkedInAt,
                             OffsetDateTime receivedAt, String requestId) {
        static ClaimedJob from(Row r) {
            return new ClaimedJob(r.getLong(0), r.getString(1), r.getString(2), r.getInteger(3),
                    r.getOffsetDateTime(4), r.getOffsetDateTime(5), r.getString(6));
        }
    }

    /** The result of one job; {@code nextAttemptAt} only for outcome retry; {@code call} null if no call was made. */
    public record Outcome(long jobId, String outcome, Integer httpStatus, String error, OffsetDateTime nextAttemptAt,
                          Call call) {
        public Outcome(long jobId, String outcome, Integer httpStatus, String error, OffsetDateTime nextAttemptAt) {
            this(jobId, outcome, httpStatus, error, nextAttemptAt, null);
        }
    }

    /** One Epic call: which attempt of the job, when it left, when it was answered (or gave up), its request id. */
    public record Call(int attempt, OffsetDateTime startedAt, OffsetDateTime answeredAt, String requestId) {
    }

    /** A job's state after an outcome or a rescue. */
    public record Transition(long jobId, String state) {
    }

    private final Pool pool;

    public JobStore(Pool pool) {
        this.pool = pool;
    }

    /** Claims up to {@code limit} due jobs of the environment, stamping the lease; concurrent claimers get disjoint jobs. */
    public Future<List<ClaimedJob>> claim(String environmentId, String owner, long fence, int limit, Duration lease) {
        return pool.preparedQuery(CLAIM).execute(Tuple.of(environmentId, limit, owner, fence, lease.toMillis()))
                .map(rows -> {
                    List<ClaimedJob> jobs = new ArrayList<>();
                    rows.forEach(r -> jobs.add(ClaimedJob.from(r)));
                    return jobs;
                });
    }

    /** Records outcomes of jobs this owner holds with this fence; jobs it no longer holds are left alone. */
    public Future<List<Transition>> record(List<Outcome> outcomes, String owner, long fence) {
        if (outcomes.isEmpty()) {
            return Future.succeededFuture(List.of());
        }
        Long[] ids = outcomes.stream().map(Outcome::jobId).toArray(Long[]::new);
        Tuple t = Tuple.tuple().addArrayOfLong(ids)
                .addArrayOfString(outcomes.stream().map(Outcome::outcome).toArray(String[]::new))
                .addArrayOfInteger(outcomes.stream().map(Outcome::httpStatus).toArray(Integer[]::new))
                .addArrayOfString(outcomes.stream().map(Outcome::error).toArray(String[]::new))
                .addArrayOfOffsetDateTime(outcomes.stream().map(Outcome::nextAttemptAt).toArray(OffsetDateTime[]::new))
                .addValue(owner).addValue(fence)
                .addArrayOfInteger(outcomes.stream().map(o -> o.call() == null ? null : o.call().attempt()).toArray(Integer[]::new))
                .addArrayOfOffsetDateTime(outcomes.stream().map(o -> o.call() == null ? null : o.call().startedAt())
                        .toArray(OffsetDateTime[]::new))
                .addArrayOfOffsetDateTime(outcomes.stream().map(o -> o.call() == null ? null : o.call().answeredAt())
                        .toArray(OffsetDateTime[]::new))
                .addArrayOfString(outcomes.stream().map(o -> o.call() == null ? null : o.call().requestId()).toArray(String[]::new));
        return pool.withTransaction(conn -> lockDevices(conn, ids)
                .compose(x -> conn.preparedQuery(RECORD).execute(t)).map(JobStore::transitions));
    }

    /** Gives claimed, unsent jobs back to the queue at once (instead of waiting for their lease to run out). */
    public Future<List<Transition>> unclaim(List<Long> jobIds, String owner, long fence) {
        if (jobIds.isEmpty()) {
            return Future.succeededFuture(List.of());
        }
        Long[] ids = jobIds.toArray(Long[]::new);
        return pool.withTransaction(conn -> lockDevices(conn, ids).compose(x -> conn.preparedQuery(UNCLAIM)
                .execute(Tuple.tuple().addArrayOfLong(ids).addValue(owner).addValue(fence))).map(JobStore::transitions));
    }

    /** Returns up to {@code limit} jobs whose lease expired in sending to queued (or cancelled, if fenced). */
    public Future<List<Transition>> rescue(int limit) {
        return pool.withTransaction(conn -> conn.preparedQuery(EXPIRED_LEASES).execute(Tuple.of(limit)).compose(rows -> {
            List<Long> ids = new ArrayList<>();
            rows.forEach(r -> ids.add(r.getLong(0)));
            if (ids.isEmpty()) {
                return Future.succeededFuture(List.<Transition>of());
            }
            Long[] array = ids.toArray(Long[]::new);
            return lockDevices(conn, array).compose(x -> conn.preparedQuery(RESCUE)
                    .execute(Tuple.tuple().addArrayOfLong(array))).map(JobStore::transitions);
        }));
    }

    private static Future<Void> lockDevices(SqlConnection conn, Long[] jobIds) {
        return conn.preparedQuery(LOCK_DEVICES_OF_JOBS).execute(Tuple.tuple().addArrayOfLong(jobIds)).mapEmpty();
    }

    private static List<Transition> transitions(io.vertx.sqlclient.RowSet<Row> rows) {
        List<Transition> t = new ArrayList<>();
        rows.forEach(r -> t.add(new Transition(r.getLong(0), r.getString(1))));
        return t;
    }
}
