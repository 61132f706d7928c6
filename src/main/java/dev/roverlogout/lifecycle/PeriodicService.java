package dev.roverlogout.lifecycle;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * A background job that runs one round every {@link #delay()} on the context it was given (river's maintenance
 * services: a ticker plus one round of work). Rounds never overlap: the next delay counts from the end of the
 * previous round. A round that fails is logged at WARN and the schedule goes on. {@link #stop} cancels the timer
 * and completes when the round under way has finished; a long round looks at {@link #stopping()} between its steps.
 */
public abstract class PeriodicService implements Service {
    private static final Logger log = LoggerFactory.getLogger(PeriodicService.class);

    protected final Vertx vertx;
    protected final Context context;
    private final boolean runAtStart;
    private long timer = -1;
    private boolean stopped;
    private Future<Void> round = Future.succeededFuture();

    /**
     * @param context    where every round runs (timers, callbacks, the service's state)
     * @param runAtStart true: the first round runs at start, and start completes after it (whether it worked or not)
     */
    protected PeriodicService(Vertx vertx, Context context, boolean runAtStart) {
        this.vertx = vertx;
        this.context = context;
        this.runAtStart = runAtStart;
    }

    /** One round of work. Runs on {@link #context}; must not block. */
    protected abstract Future<Void> runOnce();

    /** How long to wait after a round before the next one (fixed by default; may be jittered). */
    protected abstract Duration delay();

    /** Called on the context when stop begins, before waiting for the round under way (e.g. to cut a pause short). */
    protected void onStop() {
    }

    /** True once {@link #stop} was called: a round made of many steps ends after the current one. */
    protected final boolean stopping() {
        return stopped;
    }

    @Override
    public final Future<Void> start() {
        Promise<Void> started = Promise.promise();
        context.runOnContext(v -> {
            if (runAtStart) {
                runRound().onComplete(x -> {
                    schedule();
                    started.complete();
                });
            } else {
                schedule();
                started.complete();
            }
        });
        return started.future();
    }

    @Override
    public final Future<Void> stop() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            stopped = true;
            if (timer >= 0) {
                vertx.cancelTimer(timer);
            }
            onStop();
            round.onComplete(x -> done.complete());
        });
        return done.future();
    }

    /**
     * Runs one round now, on the service's context, besides the schedule (tests, benchmarks, an operator's "now");
     * completes when it has ended. {@link #stop} waits for it like for a scheduled round.
     */
    public final Future<Void> runNow() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            if (stopped) {
                done.complete();
            } else {
                runRound().onComplete(x -> done.complete());
            }
        });
        return done.future();
    }

    private Future<Void> runRound() {
        Future<Void> current = runOnce().recover(e -> {
            log.atWarn().setMessage("{}: round failed: {}").addArgument(name()).addArgument(e.getMessage()).log();
            return Future.succeededFuture();
        });
        round = Future.join(round, current).mapEmpty(); // stop waits for every round under way
        return current;
    }

    private void schedule() {
        if (stopped) {
            return;
        }
        timer = vertx.setTimer(Math.max(1, delay().toMillis()), id -> {
            timer = -1;
            if (!stopped) {
                runRound().onComplete(x -> schedule());
            }
        });
    }
}
