package dev.roverlogout.store;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;

/**
 * Queue depth and oldest age per environment, read from PostgreSQL every {@code metrics.queueStatsInterval}
 * (served by the partial index job_claim) and published as rlg_queue_depth / rlg_queue_oldest_age_seconds, with
 * each environment's status (rlg_environment_status) and whether the read worked (rlg_database_up).
 * Also the backlog estimate that ingest compares with {@code ingest.maxBacklog}: the last count plus the jobs
 * queued on this replica since.
 */
public final class QueueStats {
    static final String DEPTH = """
            SELECT e.id, count(j.id), GREATEST(0, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(j.received_at)), 0)),
                   e.status
              FROM environment e LEFT JOIN disassociation_job j ON j.environment_id = e.id AND j.state = 'queued'
             GROUP BY e.id, e.status
            """;
    private static final Logger log = LoggerFactory.getLogger(QueueStats.class);

    private final Vertx vertx;
    private final Pool pool;
    private final GatewayMetrics metrics;
    private final AtomicLong lastCount = new AtomicLong();
    private final AtomicLong queuedSince = new AtomicLong();
    private long timer = -1;

    public QueueStats(Vertx vertx, Pool pool, GatewayMetrics metrics) {
        this.vertx = vertx;
        this.pool = pool;
        this.metrics = metrics;
    }

    public Future<Void> start(Duration interval) {
        timer = vertx.setPeriodic(interval.toMillis(), id -> refresh());
        return refresh().recover(e -> Future.succeededFuture());
    }

    public void stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** Reads the queue now; completes when metrics are updated. */
    public Future<Void> refresh() {
        long before = queuedSince.get();
        return pool.query(DEPTH).execute().map(rows -> {
            long total = 0;
            Set<String> environments = new HashSet<>();
            for (var row : rows) {
                long depth = row.getLong(1);
                total += depth;
                environments.add(row.getString(0));
                metrics.queue(row.getString(0), row.getString(3), depth, row.getNumeric(2).doubleValue());
            }
            metrics.retainQueues(environments);
            lastCount.set(total);
            queuedSince.addAndGet(-before);
            metrics.databaseUp(true);
            return (Void) null;
        }).onFailure(e -> {
            metrics.databaseUp(false);
            log.debug("Queue stats unavailable: {}", e.toString());
        });
    }

    public void noteQueued(int jobs) {
        queuedSince.addAndGet(jobs);
    }

    /** Queued jobs across all environments, as far as this replica knows. */
    public long backlog() {
        return lastCount.get() + queuedSince.get();
    }
}
