package dev.roverlogout.maintenance;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.lifecycle.PeriodicService;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.QueueDepthStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Queue statistics, every {@code metrics.queueStatsInterval} (default 5 s): queue depth and oldest age per
 * environment ({@code rlg_queue_depth}, {@code rlg_queue_oldest_age_seconds}), each environment's status
 * ({@code rlg_environment_status}) and whether the read worked ({@code rlg_database_up}). The read costs a few index
 * probes per environment however long the queue ({@link QueueDepthStore}).
 *
 * <p>Also the backlog estimate that ingest compares with {@code ingest.maxBacklog}: the last count plus the jobs
 * queued on this replica since ({@link #noteQueued}, from any thread).
 */
public final class QueueStatistics extends PeriodicService {
    private static final Logger log = LoggerFactory.getLogger(QueueStatistics.class);

    private final QueueDepthStore store;
    private final GatewayMetrics metrics;
    private final Duration interval;
    private final AtomicLong lastCount = new AtomicLong();
    private final AtomicLong queuedSince = new AtomicLong();
    /** Per environment: epoch minute → the last queue depth read in that minute, for the last hour (console chart). */
    private final java.util.Map<String, java.util.TreeMap<Long, Long>> lastHour = new java.util.concurrent.ConcurrentHashMap<>();

    public QueueStatistics(Vertx vertx, Context context, QueueDepthStore store, GatewayMetrics metrics, Duration interval) {
        super(vertx, context, true);
        this.store = store;
        this.metrics = metrics;
        this.interval = interval;
    }

    @Override
    public String name() {
        return "queue statistics";
    }

    @Override
    protected Duration delay() {
        return interval;
    }

    /** Reads the queues now; completes when the metrics are updated. */
    @Override
    protected Future<Void> runOnce() {
        long before = queuedSince.get();
        return store.read().map(depths -> {
            long total = 0;
            Set<String> environments = new HashSet<>();
            long minute = System.currentTimeMillis() / 60_000;
            for (QueueDepthStore.Depth d : depths) {
                total += d.queued();
                environments.add(d.environmentId());
                remember(d.environmentId(), minute, d.queued());
                metrics.queue(d.environmentId(), d.tenantId(), d.status(), d.queued(), d.oldestAgeSeconds());
            }
            metrics.retainQueues(environments);
            lastHour.keySet().retainAll(environments);
            lastCount.set(total);
            queuedSince.addAndGet(-before);
            metrics.databaseUp(true);
            return (Void) null;
        }).recover(e -> {
            metrics.databaseUp(false);
            log.debug("Queue statistics unavailable: {}", e.toString());
            return Future.succeededFuture();
        });
    }

    private void remember(String environmentId, long minute, long queued) {
        java.util.TreeMap<Long, Long> minutes = lastHour.computeIfAbsent(environmentId, k -> new java.util.TreeMap<>());
        synchronized (minutes) {
            minutes.put(minute, queued);
            minutes.headMap(minute - 60).clear();
        }
    }

    /**
     * The queue depth of an environment per minute over the last hour, as this replica read it (epoch minute →
     * depth; minutes before this replica started, or without a read, are missing).
     */
    public java.util.SortedMap<Long, Long> lastHour(String environmentId) {
        java.util.TreeMap<Long, Long> minutes = lastHour.get(environmentId);
        if (minutes == null) {
            return java.util.Collections.emptySortedMap();
        }
        synchronized (minutes) {
            return new java.util.TreeMap<>(minutes);
        }
    }

    /** Ingest queued {@code jobs} new jobs on this replica. */
    public void noteQueued(int jobs) {
        queuedSince.addAndGet(jobs);
    }

    /** Queued jobs across all environments, as far as this replica knows. */
    public long backlog() {
        return lastCount.get() + queuedSince.get();
    }
}
