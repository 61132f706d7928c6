package dev.roverlogout.maintenance;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.lifecycle.PeriodicService;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.RetentionStore;
import dev.roverlogout.store.RetentionStore.Counts;
import dev.roverlogout.store.RetentionStore.Cutoffs;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.SqlConnection;

/**
 * The retention cleaner, every {@code retention.interval} (default 10 minutes; the first run one interval after
 * start): deletes device events, finished jobs with their attempts, dead letters, status changes and audit entries older than
 * their {@code retention.*} periods, in batches of {@code retention.batchSize} rows, each its own transaction, with a
 * pause twice as long as the batch took between two (the cleaner never takes more than about a third of one
 * connection, and of one core of the database, from ingest and dispatch: with half, a first run deleting 10 million
 * rows doubled the ack p99 of ingest at 2,000 events/s, BENCHMARKS.md). What it keeps is {@link RetentionStore}'s
 * rule.
 *
 * <p>One replica at a time: a run holds a session advisory lock on a connection of its own (not one of the pool's,
 * so ingest never waits for it); a replica that does not get the lock only reads when the last run ended. The lock
 * dies with the connection, so a crashed cleaner blocks nobody. On stop, the batch under way commits and the run
 * ends as {@code stopped}; the next run (on any replica) starts from the oldest rows again. Exports
 * {@code rlg_retention_deleted_total{table}} and {@code rlg_retention_last_run_timestamp_seconds}.
 */
public final class RetentionCleaner extends PeriodicService {
    private static final Logger log = LoggerFactory.getLogger(RetentionCleaner.class);
    private static final OffsetDateTime EPOCH = OffsetDateTime.of(1970, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);
    /** A batch that runs this long is cut off by the database (and the run fails, to start afresh next time). */
    static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(60);

    private final RetentionStore store;
    private final String databaseUrl;
    private final String replica;
    private final GatewayConfig.Retention config;
    private final GatewayMetrics metrics;
    private Promise<Void> pause;

    public RetentionCleaner(Vertx vertx, Context context, RetentionStore store, String databaseUrl, String replica,
                            GatewayConfig.Retention config, GatewayMetrics metrics) {
        super(vertx, context, false);
        this.store = store;
        this.databaseUrl = databaseUrl;
        this.replica = replica;
        this.config = config;
        this.metrics = metrics;
    }

    @Override
    public String name() {
        return "retention cleaner";
    }

    @Override
    protected Duration delay() {
        return config.interval();
    }

    @Override
    protected void onStop() {
        if (pause != null) {
            pause.tryComplete(); // no waiting out a pause on shutdown
        }
    }

    /** One run now (if no other replica's is under way); completes when it has ended. */
    @Override
    protected Future<Void> runOnce() {
        PgConnectOptions options = PgConnectOptions.fromUri(databaseUrl)
                .addProperty("application_name", "rlg-retention")
                .addProperty("statement_timeout", Long.toString(STATEMENT_TIMEOUT.toMillis()));
        return PgConnection.connect(vertx, options).compose(conn -> conn.query(RetentionStore.TRY_LOCK).execute()
                .compose(rows -> rows.iterator().next().getBoolean(0) && !stopping() ? run(conn) : Future.succeededFuture())
                .eventually(conn::close))
                .compose(x -> store.lastRunEnd())
                .map(end -> {
                    end.ifPresent(t -> metrics.retentionLastRun(t.toEpochSecond()));
                    return null;
                });
    }

    private Future<Void> run(SqlConnection conn) {
        long started = System.nanoTime();
        return RetentionStore.startRun(conn, replica).compose(run -> {
            Counts[] done = {Counts.NONE};
            Function<Counts, Future<Void>> progress = n -> {
                done[0] = done[0].plus(n);
                metrics.retentionDeleted("device_event", n.deviceEvents());
                metrics.retentionDeleted("disassociation_job", n.jobs());
                metrics.retentionDeleted("job_attempt", n.jobAttempts());
                metrics.retentionDeleted("environment_status_change", n.statusChanges());
                metrics.retentionDeleted("audit_entry", n.auditEntries());
                return RetentionStore.progress(conn, run, done[0]);
            };
            return RetentionStore.cutoffs(conn, config.finishedJobs(), config.deviceEvents(), config.deadLetters(), config.audit())
                    .compose(c -> events(conn, c, EPOCH, progress)
                            .compose(x -> RetentionStore.environments(conn))
                            .compose(envs -> jobs(conn, c, envs, 0, EPOCH, progress))
                            .compose(x -> statusChanges(conn, c, progress))
                            .compose(x -> auditEntries(conn, c, progress)))
                    .transform(ar -> {
                        String outcome = ar.failed() ? "failed" : stopping() ? "stopped" : "completed";
                        String error = ar.failed() ? String.valueOf(ar.cause().getMessage()) : null;
                        boolean quiet = ar.succeeded() && done[0].equals(Counts.NONE);
                        log.atLevel(ar.failed() ? org.slf4j.event.Level.WARN
                                        : quiet ? org.slf4j.event.Level.DEBUG : org.slf4j.event.Level.INFO)
                                .log("Retention run {} {} in {} ms: deleted {} device events, {} jobs, {} attempts, {} status "
                                                + "changes, {} audit entries{}", run, outcome, (System.nanoTime() - started) / 1_000_000,
                                        done[0].deviceEvents(), done[0].jobs(), done[0].jobAttempts(), done[0].statusChanges(),
                                        done[0].auditEntries(), error == null ? "" : " (" + error + ")");
                        return RetentionStore.finish(conn, run, done[0], outcome, error);
                    });
        });
    }

    private Future<Void> events(SqlConnection conn, Cutoffs c, OffsetDateTime from, Function<Counts, Future<Void>> progress) {
        if (stopping()) {
            return Future.succeededFuture();
        }
        long t0 = System.nanoTime();
        return RetentionStore.deleteEvents(conn, from, c, config.batchSize())
                .compose(b -> progress.apply(new Counts(b.deleted(), 0, 0, 0, 0)).map(b))
                .compose(b -> b.scanned() < config.batchSize() ? Future.succeededFuture()
                        : pause(t0).compose(x -> events(conn, c, b.reached(), progress)));
    }

    private Future<Void> jobs(SqlConnection conn, Cutoffs c, List<String> envs, int i, OffsetDateTime from,
                              Function<Counts, Future<Void>> progress) {
        if (stopping() || i == envs.size()) {
            return Future.succeededFuture();
        }
        long t0 = System.nanoTime();
        return RetentionStore.deleteJobs(conn, envs.get(i), from, c, config.batchSize())
                .compose(b -> progress.apply(new Counts(0, b.deleted(), b.attemptsDeleted(), 0, 0)).map(b))
                .compose(b -> pause(t0).compose(x -> b.scanned() < config.batchSize()
                        ? jobs(conn, c, envs, i + 1, EPOCH, progress) : jobs(conn, c, envs, i, b.reached(), progress)));
    }

    private Future<Void> statusChanges(SqlConnection conn, Cutoffs c, Function<Counts, Future<Void>> progress) {
        if (stopping()) {
            return Future.succeededFuture();
        }
        long t0 = System.nanoTime();
        return RetentionStore.deleteStatusChanges(conn, c, config.batchSize())
                .compose(b -> progress.apply(new Counts(0, 0, 0, b.deleted(), 0)).map(b))
                .compose(b -> b.scanned() < config.batchSize() ? Future.succeededFuture()
                        : pause(t0).compose(x -> statusChanges(conn, c, progress)));
    }

    private Future<Void> auditEntries(SqlConnection conn, Cutoffs c, Function<Counts, Future<Void>> progress) {
        if (stopping()) {
            return Future.succeededFuture();
        }
        long t0 = System.nanoTime();
        return RetentionStore.deleteAudit(conn, c, config.batchSize())
                .compose(b -> progress.apply(new Counts(0, 0, 0, 0, b.deleted())).map(b))
                .compose(b -> b.scanned() < config.batchSize() ? Future.succeededFuture()
                        : pause(t0).compose(x -> auditEntries(conn, c, progress)));
    }

    /** Waits twice as long as the batch that started at {@code batchStart} took (at least 10 ms); cut short by stop. */
    private Future<Void> pause(long batchStart) {
        long millis = Math.max(10, 2 * (System.nanoTime() - batchStart) / 1_000_000);
        pause = Promise.promise();
        Promise<Void> p = pause;
        long timer = vertx.setTimer(millis, id -> p.tryComplete());
        if (stopping()) {
            vertx.cancelTimer(timer);
            p.tryComplete();
        }
        return p.future();
    }
}
