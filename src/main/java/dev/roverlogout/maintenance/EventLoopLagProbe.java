package dev.roverlogout.maintenance;

import java.time.Duration;
import java.util.List;

import dev.roverlogout.lifecycle.Service;
import dev.roverlogout.metrics.GatewayMetrics;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * {@code rlg_event_loop_lag_seconds}: every {@link #INTERVAL} (1 s), a timer on each of the gateway's own contexts
 * measures how late it fired; the worst since the previous scrape is what the metric shows. A late timer means
 * something blocked that event loop or the CPU was starved: both delay every request and every Epic call on it.
 */
public final class EventLoopLagProbe implements Service {
    public static final Duration INTERVAL = Duration.ofSeconds(1);

    private final Vertx vertx;
    private final List<Context> contexts;
    private final GatewayMetrics metrics;
    private final long[] timers;

    public EventLoopLagProbe(Vertx vertx, List<Context> contexts, GatewayMetrics metrics) {
        this.vertx = vertx;
        this.contexts = List.copyOf(contexts);
        this.metrics = metrics;
        this.timers = new long[contexts.size()];
    }

    @Override
    public String name() {
        return "event-loop lag probe";
    }

    @Override
    public Future<Void> start() {
        for (int i = 0; i < contexts.size(); i++) {
            int slot = i;
            contexts.get(i).runOnContext(v -> {
                long[] last = {System.nanoTime()};
                timers[slot] = vertx.setPeriodic(INTERVAL.toMillis(), t -> {
                    long now = System.nanoTime();
                    metrics.eventLoopLag(now - last[0] - INTERVAL.toNanos());
                    last[0] = now;
                });
            });
        }
        return Future.succeededFuture();
    }

    @Override
    public Future<Void> stop() {
        Promise<Void> done = Promise.promise();
        List<Future<Void>> cancelled = new java.util.ArrayList<>();
        for (int i = 0; i < contexts.size(); i++) {
            int slot = i;
            Promise<Void> p = Promise.promise();
            contexts.get(i).runOnContext(v -> {
                vertx.cancelTimer(timers[slot]);
                p.complete();
            });
            cancelled.add(p.future());
        }
        Future.join(cancelled).onComplete(x -> done.complete());
        return done.future();
    }
}
