package dev.roverlogout.lifecycle;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * Starts services one after the other in the order given and stops the started ones in reverse order, each
 * within what is left of a shutdown budget: a service that does not stop in time is logged and left behind, so
 * that the ones before it (the pool, the notification hub) still close. Not thread-safe: one caller at a time.
 */
public final class Lifecycle {
    private static final Logger log = LoggerFactory.getLogger(Lifecycle.class);

    private final Vertx vertx;
    private final List<Service> started = new ArrayList<>();

    public Lifecycle(Vertx vertx) {
        this.vertx = vertx;
    }

    /** Starts {@code services} in order; fails with the first failure (the ones started before it stay started). */
    public Future<Void> startAll(List<? extends Service> services) {
        Future<Void> chain = Future.succeededFuture();
        for (Service s : services) {
            chain = chain.compose(x -> s.start()
                    .onSuccess(y -> {
                        started.add(s);
                        log.debug("Started {}", s.name());
                    })
                    .onFailure(e -> log.error("{} did not start: {}", s.name(), e.getMessage())));
        }
        return chain;
    }

    /**
     * Stops every started service in reverse order; service {@code i} gets what is left of {@code budgetMillis}.
     * Never fails. Completes without a Vert.x context (it may complete while Vert.x closes).
     */
    public Future<Void> stopAll(long budgetMillis) {
        long deadline = System.nanoTime() + budgetMillis * 1_000_000L;
        List<Service> reverse = new ArrayList<>(started);
        java.util.Collections.reverse(reverse);
        started.clear();
        Future<Void> chain = Future.succeededFuture();
        for (Service s : reverse) {
            chain = chain.transform(x -> stopWithin(s, (deadline - System.nanoTime()) / 1_000_000L));
        }
        Promise<Void> done = Promise.promise();
        chain.onComplete(x -> done.complete());
        return done.future();
    }

    private Future<Void> stopWithin(Service s, long millis) {
        Promise<Void> stopped = Promise.promise();
        long timer = vertx.setTimer(Math.max(1, millis), id -> {
            if (stopped.tryComplete()) {
                log.warn("{} did not stop within the shutdown budget; going on without it", s.name());
            }
        });
        Future<Void> stop;
        try {
            stop = s.stop();
        } catch (RuntimeException e) {
            stop = Future.failedFuture(e);
        }
        stop.onComplete(ar -> {
            vertx.cancelTimer(timer);
            if (ar.failed()) {
                log.warn("{} failed to stop cleanly: {}", s.name(), ar.cause().getMessage());
            }
            stopped.tryComplete();
        });
        return stopped.future();
    }
}
