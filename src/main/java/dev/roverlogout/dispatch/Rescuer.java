package dev.roverlogout.dispatch;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.lifecycle.PeriodicService;
import dev.roverlogout.store.JobStore;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Rescue of expired job leases, every third of {@code dispatch.leaseDuration} (3.3 s by default): a job still in
 * {@code sending} after its lease ran out belonged to a replica that crashed or lost the database mid-call. It goes
 * back to the queue (a crash repeats only the calls that were in flight), or ends cancelled if a check-out fenced
 * it or its device has a newer queued job ({@link JobStore#rescue}). Runs on every dispatching replica; the
 * statement locks what it rescues, so two replicas never rescue the same job. Up to {@link #BATCH} jobs per
 * statement, repeated while full.
 */
public final class Rescuer extends PeriodicService {
    static final int BATCH = 1000;
    private static final Logger log = LoggerFactory.getLogger(Rescuer.class);

    private final JobStore jobs;
    private final Duration interval;

    public Rescuer(Vertx vertx, Context context, JobStore jobs, Duration leaseDuration) {
        super(vertx, context, true);
        this.jobs = jobs;
        this.interval = Duration.ofMillis(Math.max(100, leaseDuration.toMillis() / 3));
    }

    @Override
    public String name() {
        return "lease rescuer";
    }

    @Override
    protected Duration delay() {
        return interval;
    }

    @Override
    protected Future<Void> runOnce() {
        return jobs.rescue(BATCH).compose(rescued -> {
            if (!rescued.isEmpty()) {
                log.info("Rescued {} jobs whose lease ran out while sending", rescued.size());
            }
            return rescued.size() == BATCH && !stopping() ? runOnce() : Future.succeededFuture();
        });
    }
}
