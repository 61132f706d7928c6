package dev.roverlogout.store;

import java.util.ArrayList;
import java.util.List;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;

/**
 * Queue depth and oldest age per environment at a cost that does not grow with the queue (V5, V7): the depth is the
 * counter row plus the deltas the writers' triggers appended since the last fold; the oldest queued job is the first
 * entry of the partial index {@code job_queued_age}. Both are a few index probes per environment, at 10 million
 * queued jobs as at ten (BENCHMARKS.md).
 */
public final class QueueDepthStore {
    /**
     * Folds the pending deltas into the counters. One replica at a time (a transaction-level advisory lock; the
     * others skip, their next round folds); counters are updated in environment order, so two folds never deadlock.
     */
    public static final String FOLD = """
            WITH lock AS (SELECT pg_try_advisory_xact_lock(727067, 1) AS got),
            folded AS (
              DELETE FROM queue_depth_delta WHERE (SELECT got FROM lock) RETURNING environment_id, delta
            )
            INSERT INTO queue_depth AS q (environment_id, queued)
            SELECT environment_id, sum(delta) FROM folded GROUP BY environment_id ORDER BY environment_id
            ON CONFLICT (environment_id) DO UPDATE SET queued = q.queued + EXCLUDED.queued
            """;

    /** Per environment: id, status, queued jobs, age in seconds of the oldest queued job (0 when none), tenant. */
    public static final String READ = """
            SELECT e.id, e.status,
                   COALESCE((SELECT q.queued FROM queue_depth q WHERE q.environment_id = e.id), 0)
                     + COALESCE(d.delta, 0),
                   GREATEST(0, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - o.received_at), 0))::float8,
                   e.tenant_id
              FROM environment e
              LEFT JOIN (SELECT environment_id, sum(delta) AS delta FROM queue_depth_delta GROUP BY environment_id) d
                     ON d.environment_id = e.id
              LEFT JOIN LATERAL (SELECT j.received_at FROM disassociation_job j
                                  WHERE j.environment_id = e.id AND j.state = 'queued'
                                  ORDER BY j.received_at LIMIT 1) o ON true
             ORDER BY e.id
            """;

    /** One environment's queue as statistics see it. */
    public record Depth(String environmentId, String status, long queued, double oldestAgeSeconds, String tenantId) {
    }

    private final Pool pool;

    public QueueDepthStore(Pool pool) {
        this.pool = pool;
    }

    /** Folds pending deltas (if no other replica is folding now), then reads every environment's queue. */
    public Future<List<Depth>> read() {
        return pool.query(FOLD).execute().compose(x -> pool.query(READ).execute()).map(rows -> {
            List<Depth> depths = new ArrayList<>();
            for (Row r : rows) {
                depths.add(new Depth(r.getString(0), r.getString(1), r.getLong(2), r.getDouble(3), r.getString(4)));
            }
            return depths;
        });
    }
}
