package dev.roverlogout.dispatch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.store.JobStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgException;

/**
 * Writes a lane's job outcomes in batches: when the lane's timer flushes (every {@link #EVERY_MILLIS} ms), or at
 * once when {@link #BATCH} are waiting; one write at a time. Writes are fenced by the lane's lease ({@link JobStore#record}): outcomes of jobs the
 * lane no longer holds are ignored by the database. A batch that fails is kept and written again (the calls were
 * made; the fence keeps a late write safe); a batch a constraint refused is written one by one instead, since the
 * same batch would be refused for ever. Confined to the lane's context.
 */
final class OutcomeRecorder {
    static final long EVERY_MILLIS = 50;
    static final int BATCH = 200;
    private static final Logger log = LoggerFactory.getLogger(Lane.class);

    private final JobStore jobs;
    private final String environmentId;
    private final String owner;
    private final long fence;
    private final List<JobStore.Outcome> unrecorded = new ArrayList<>();
    private boolean recording;

    OutcomeRecorder(JobStore jobs, String environmentId, String owner, long fence) {
        this.jobs = jobs;
        this.environmentId = environmentId;
        this.owner = owner;
        this.fence = fence;
    }

    void add(JobStore.Outcome outcome) {
        unrecorded.add(outcome);
        if (unrecorded.size() >= BATCH) {
            flush();
        }
    }

    /** Nothing waiting and nothing being written. */
    boolean idle() {
        return unrecorded.isEmpty() && !recording;
    }

    int waiting() {
        return unrecorded.size();
    }

    /**
     * Flushes every {@link #EVERY_MILLIS} ms until {@code callsDone} and nothing is left to write, or {@code limit}
     * passed; true when everything was written.
     */
    Future<Boolean> drain(Vertx vertx, BooleanSupplier callsDone, Duration limit) {
        Promise<Boolean> drained = Promise.promise();
        long giveUpAt = System.nanoTime() + limit.toNanos();
        flush();
        vertx.setPeriodic(EVERY_MILLIS, id -> {
            flush();
            boolean done = callsDone.getAsBoolean() && idle();
            if (done || System.nanoTime() - giveUpAt > 0) {
                vertx.cancelTimer(id);
                drained.complete(done);
            }
        });
        return drained.future();
    }

    void flush() {
        if (recording || unrecorded.isEmpty()) {
            return;
        }
        List<JobStore.Outcome> batch = new ArrayList<>(unrecorded);
        unrecorded.clear();
        recording = true;
        jobs.record(batch, owner, fence).onComplete(ar -> {
            recording = false;
            if (ar.failed() && ar.cause() instanceof PgException pg && pg.getSqlState() != null
                    && pg.getSqlState().startsWith("23") && batch.size() > 1) {
                log.atError().addKeyValue("environment", environmentId).log("Lane {}: a batch of {} outcomes was refused "
                        + "({}); writing them one by one", environmentId, batch.size(), pg.getMessage());
                batch.forEach(o -> jobs.record(List.of(o), owner, fence).onFailure(e -> log.atError()
                        .addKeyValue("environment", environmentId).log("Lane {}: outcome of job {} not written ({}); the "
                                + "lease rescue requeues it", environmentId, o.jobId(), e.getMessage())));
            } else if (ar.failed()) {
                log.atWarn().addKeyValue("environment", environmentId).log("Lane {} could not record {} outcomes: {}",
                        environmentId, batch.size(), ar.cause().getMessage());
                unrecorded.addAll(0, batch);
            } else if (ar.result().size() < batch.size()) {
                log.atWarn().addKeyValue("environment", environmentId).log("Lane {}: {} outcomes rejected (lease lost to "
                        + "another replica)", environmentId, batch.size() - ar.result().size());
            }
        });
    }
}
