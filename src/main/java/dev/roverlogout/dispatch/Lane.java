package dev.roverlogout.dispatch;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.epic.EpicClient;
import dev.roverlogout.epic.EpicOutcome;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentCache;
import dev.roverlogout.store.JobStore;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerOptions;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.circuitbreaker.OpenCircuitException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * One environment's dispatch loop on one replica, while that replica holds the environment's lane lease.
 * Non-blocking and timer-driven: claim due jobs (no more than it may send soon), send each when the token bucket
 * and the concurrency cap allow, record outcomes in batches. A lane sends nothing once its lease may have run
 * out ({@link #leaseValidUntil}), nothing for a PAUSED environment, and only READY environments get lanes.
 * All state is confined to the supervisor's context.
 */
final class Lane {
    private static final Logger log = LoggerFactory.getLogger(Lane.class);
    private static final long RECORD_EVERY_MILLIS = 50;
    private static final int RECORD_BATCH = 200;

    // every log line of a lane carries its environment as a key-value (a field of its own in JSON logs)
    private org.slf4j.spi.LoggingEventBuilder info() {
        return log.atInfo().addKeyValue("environment", environmentId);
    }

    private org.slf4j.spi.LoggingEventBuilder warn() {
        return log.atWarn().addKeyValue("environment", environmentId);
    }

    private org.slf4j.spi.LoggingEventBuilder error() {
        return log.atError().addKeyValue("environment", environmentId);
    }

    private final Vertx vertx;
    private final String environmentId;
    private final String owner;
    private final long fence;
    private final EnvironmentCache environments;
    private final JobStore jobs;
    private final EpicClient epic;
    private final RetryPolicy retries;
    private final GatewayMetrics metrics;
    private final GatewayConfig.Dispatch config;
    /** Claimed jobs waiting for a token, with the time they were claimed (their lease runs from then). */
    private final ArrayDeque<Held> claimed = new ArrayDeque<>();
    private final List<JobStore.Outcome> unrecorded = new ArrayList<>();
    private final CircuitBreaker breaker;
    private final FailureDetector failures;
    private final io.vertx.core.Promise<Void> drained = io.vertx.core.Promise.promise();
    private final AdaptiveRate rate;
    private int inFlight;
    private boolean claiming;
    private boolean recording;
    private long wakeTimer = -1;
    private long recordTimer = -1;
    private boolean stopped;
    /** Local monotonic time until which the lease is surely ours (renewals push it forward). */
    long leaseValidUntil;

    Lane(Vertx vertx, String environmentId, String owner, long fence, EnvironmentCache environments, JobStore jobs,
         EpicClient epic, RetryPolicy retries, GatewayMetrics metrics, GatewayConfig.Dispatch config) {
        this.vertx = vertx;
        this.environmentId = environmentId;
        this.owner = owner;
        this.fence = fence;
        this.environments = environments;
        this.jobs = jobs;
        this.epic = epic;
        this.retries = retries;
        this.metrics = metrics;
        this.config = config;
        this.rate = new AdaptiveRate(System.nanoTime());
        // opens when the FailureDetector says so (consecutive failures or a failure ratio; the breaker's own count
        // of failures in a window is switched off); while open the lane claims and sends nothing; after
        // resetTimeout one probe call decides (half-open). 429s are push-back, not failures (AIMD).
        this.failures = new FailureDetector(config.circuitMaxFailures(), config.circuitFailureRatio(), config.circuitMinCalls());
        this.breaker = CircuitBreaker.create("epic-" + environmentId, vertx, new CircuitBreakerOptions()
                        .setMaxFailures(Integer.MAX_VALUE).setFailuresRollingWindow(10_000)
                        .setResetTimeout(config.circuitResetTimeout().toMillis()).setTimeout(-1)
                        .setNotificationAddress(null))
                .openHandler(v -> {
                    if (stopped) {
                        return;
                    }
                    failures.reset();
                    metrics.circuit(environmentId, 1);
                    warn().log("Circuit of environment {} opened after repeated failures; pausing calls for {}",
                            environmentId, config.circuitResetTimeout());
                })
                .halfOpenHandler(v -> {
                    if (stopped) {
                        return;
                    }
                    metrics.circuit(environmentId, 0.5);
                    wake();
                })
                .closeHandler(v -> {
                    if (stopped) {
                        return;
                    }
                    metrics.circuit(environmentId, 0);
                    info().log("Circuit of environment {} closed", environmentId);
                });
        metrics.circuit(environmentId, 0);
    }

    private record Held(JobStore.ClaimedJob job, long claimedAt) {
    }

    /** A retryable outcome counted as a failure by the circuit breaker. */
    private static final class FailedCall extends RuntimeException {
        final EpicOutcome outcome;

        FailedCall(EpicOutcome outcome) {
            super(outcome.error(), null, false, false);
            this.outcome = outcome;
        }
    }

    long fence() {
        return fence;
    }

    /** The rate in force now (AIMD), for the lease report; the configured one before the first call. */
    double currentRate() {
        return !rate.started() ? environments.get(environmentId).map(e -> e.environment().rateLimitPerSecond()).orElse(0.0)
                : rate.current();
    }

    /** closed, open or half_open (as stored in lane_lease.circuit). */
    String circuit() {
        return switch (breaker.state()) {
            case OPEN -> "open";
            case HALF_OPEN -> "half_open";
            default -> "closed";
        };
    }

    void start() {
        recordTimer = vertx.setPeriodic(RECORD_EVERY_MILLIS, id -> flushOutcomes());
        pump();
    }

    /**
     * Stops sending. Claimed but unsent jobs go back to the queue at once (if that write fails, the lease rescue
     * returns them when their lease runs out). Completes when the calls under way have been answered (each gets at
     * most half of the lease) and every outcome is written, or after {@code leaseDuration}: only then may the lease
     * pass to another replica without two owners' calls meeting in Epic's rate window, and only then may the
     * database pool close without losing outcomes (which would make the rescue call those devices again).
     */
    Future<Void> stop() {
        if (stopped) {
            return drained.future();
        }
        stopped = true;
        breaker.close();
        vertx.cancelTimer(wakeTimer);
        vertx.cancelTimer(recordTimer);
        List<Long> unsent = claimed.stream().map(h -> h.job().id()).toList();
        claimed.clear();
        Future<?> unclaimed = jobs.unclaim(unsent, owner, fence).onFailure(e ->
                warn().log("Lane {}: {} unsent jobs wait for their lease to run out: {}", environmentId, unsent.size(), e.getMessage()));
        metrics.laneStopped(environmentId);
        long giveUpAt = System.nanoTime() + config.leaseDuration().toNanos();
        flushOutcomes();
        // outcomes of calls still under way arrive after stop: write them as they come, then report drained
        recordTimer = vertx.setPeriodic(RECORD_EVERY_MILLIS, id -> {
            flushOutcomes();
            boolean done = inFlight == 0 && unrecorded.isEmpty() && !recording;
            if (done || System.nanoTime() - giveUpAt > 0) {
                vertx.cancelTimer(id);
                if (!done) {
                    warn().log("Lane {} stopped with {} calls unanswered and {} outcomes unwritten; the lease rescue "
                            + "requeues those jobs", environmentId, inFlight, unrecorded.size());
                }
                unclaimed.onComplete(x -> drained.tryComplete());
            }
        });
        return drained.future();
    }

    /** Runs the loop now (new jobs may be due). */
    void wake() {
        if (!stopped) {
            vertx.cancelTimer(wakeTimer);
            wakeTimer = -1;
            pump();
        }
    }

    private void pump() {
        if (stopped) {
            return;
        }
        Optional<Environment> env = environments.get(environmentId).map(EnvironmentCache.Entry::environment);
        long now = System.nanoTime();
        // jobs claimed but not sent are given back whenever the lane cannot send soon: a check-out that arrives
        // meanwhile then cancels the job instead of racing a call that had not even left
        if (env.isEmpty() || env.get().status() != Environment.Status.READY || now - leaseValidUntil > 0) {
            giveBack(); // paused, gone, or lease in doubt: the supervisor decides what happens next
            sleep(200);
            return;
        }
        Environment e = env.get();
        metrics.rateLimit(environmentId, rate.adjust(e.rateLimitPerSecond(), e.burst(), now));
        TokenBucket bucket = rate.bucket();
        if (rate.holdNanos(now) > 0) {
            giveBack();
            sleep(Math.max(1, rate.holdNanos(now) / 1_000_000)); // honouring Epic's Retry-After
            return;
        }
        CircuitBreakerState circuit = breaker.state();
        if (circuit == CircuitBreakerState.OPEN) {
            giveBack();
            sleep(200); // no claims, no calls: no retry storm against a down Epic
            return;
        }
        int concurrency = circuit == CircuitBreakerState.HALF_OPEN ? 1 : e.maxConcurrency(); // one probe
        // a job's lease must outlive its call: one held for a quarter of the lease is given back rather than
        // sent, since a call may take up to half of the lease
        long maxHold = config.leaseDuration().toNanos() / 4;
        if (!claimed.isEmpty() && now - claimed.peek().claimedAt() > maxHold) {
            giveBack();
        }
        while (!claimed.isEmpty() && inFlight < concurrency && bucket.tryTake(now)) {
            send(e, claimed.poll().job());
        }
        if (!claimed.isEmpty()) {
            if (inFlight < concurrency) {
                sleep(Math.max(1, bucket.nanosUntilNext(now) / 1_000_000)); // waiting for a token
            }
            return; // or for a call to finish (send's completion pumps)
        }
        int room = concurrency - inFlight;
        if (!claiming && room > 0) { // (with no room, a call's completion pumps)
            // no more than can leave within ~50 ms: free call slots, tokens now and what the rate adds meanwhile (a
            // check-out that arrives after the claim and before the call leaves cannot stop the call)
            int limit = Math.max(1, Math.min(Math.min(config.batchSize(), room),
                    bucket.available(now) + (int) Math.ceil(rate.current() * 0.05)));
            claiming = true;
            jobs.claim(environmentId, owner, fence, limit, config.leaseDuration()).onComplete(ar -> {
                claiming = false;
                if (ar.failed()) {
                    warn().log("Lane {} cannot claim jobs: {}", environmentId, ar.cause().getMessage());
                    sleep(1000);
                    return;
                }
                long claimedAt = System.nanoTime();
                ar.result().forEach(j -> claimed.add(new Held(j, claimedAt)));
                if (ar.result().isEmpty()) {
                    sleep(config.pollInterval().toMillis());
                } else {
                    pump();
                }
            });
        }
    }

    /**
     * A check-out fenced job {@code jobId} after this lane claimed it. If its call has not left yet, it never will:
     * the job is given back, which cancels it (it is fenced). A call already under way cannot be taken back.
     */
    void fenced(long jobId) {
        Held held = null;
        for (Held h : claimed) {
            if (h.job().id() == jobId) {
                held = h;
                break;
            }
        }
        if (held != null && claimed.remove(held)) {
            jobs.unclaim(List.of(jobId), owner, fence).onFailure(x -> warn().log("Lane {}: fenced job {} not given back "
                    + "({}); its lease runs out and the rescue cancels it", environmentId, jobId, x.getMessage()));
        }
    }

    /** Puts the claimed, unsent jobs back in the queue (fenced ones end cancelled). */
    private void giveBack() {
        if (claimed.isEmpty()) {
            return;
        }
        List<Long> ids = claimed.stream().map(h -> h.job().id()).toList();
        claimed.clear();
        jobs.unclaim(ids, owner, fence).onFailure(x -> warn().log("Lane {}: {} unsent jobs wait for their lease to run "
                + "out: {}", environmentId, ids.size(), x.getMessage()));
    }

    private void send(Environment env, JobStore.ClaimedJob job) {
        OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
        String requestId = job.requestId() != null ? job.requestId() : "job-" + job.id();
        if (job.receivedAt().plus(config.maxAge()).isBefore(now)) {
            JobStore.Outcome expired = new JobStore.Outcome(job.id(), "expired", null, "older than dispatch.maxAge", null);
            logOutcome(job, requestId, expired);
            outcome(job, expired);
            return;
        }
        inFlight++;
        OffsetDateTime startedAt = now;
        breaker.<EpicOutcome>execute(() -> epic.disassociate(env, job.deviceId(), requestId).compose(r ->
                r.kind() == EpicOutcome.Kind.RETRY && r.status() != 429 ? Future.failedFuture(new FailedCall(r))
                        : Future.succeededFuture(r)))
                // the whole call, token included, ends within half of the job's lease: it can never be rescued and
                // sent again while this one is still under way
                .timeout(config.leaseDuration().toMillis() / 2, java.util.concurrent.TimeUnit.MILLISECONDS)
                .onComplete(ar -> {
            inFlight--;
            boolean sent = !(ar.cause() instanceof OpenCircuitException); // raced the opening: not sent
            EpicOutcome o = ar.succeeded() ? ar.result()
                    : ar.cause() instanceof FailedCall f ? f.outcome
                    : !sent ? new EpicOutcome(EpicOutcome.Kind.RETRY, 0, Optional.empty(), "not sent: circuit open")
                    : EpicOutcome.transportError(ar.cause()); // includes no answer within half the lease
            JobStore.Call call = sent ? new JobStore.Call(job.attempts(), startedAt, OffsetDateTime.now(ZoneOffset.UTC), requestId) : null;
            JobStore.Outcome recorded = toRecord(job, o, call);
            logOutcome(job, requestId, recorded);
            outcome(job, recorded);
            if (sent && breaker.state() == CircuitBreakerState.CLOSED
                    && failures.record(o.kind() == EpicOutcome.Kind.RETRY && o.status() != 429, System.nanoTime())) {
                breaker.open();
            }
            if (o.status() == 429 || o.status() == 503 && o.retryAfter().isPresent()) {
                metrics.rateLimit(environmentId, rate.pushBack(o.retryAfter().orElse(Duration.ofSeconds(1)), System.nanoTime()));
            }
            if (o.kind() == EpicOutcome.Kind.DONE || o.kind() == EpicOutcome.Kind.NOT_ASSOCIATED) {
                // the SLO: from the check-in's receipt to Epic's final answer (retries included)
                metrics.checkinToDisassociation(environmentId, Duration.between(job.receivedAt(), OffsetDateTime.now(ZoneOffset.UTC)));
            }
            pump();
        });
    }

    /**
     * One line per Epic call, keyed by the check-in's request id (the {@code X-Request-ID} Epic saw): calls that ended
     * the job badly at WARN, a device Epic did not know at INFO, successes and retries at DEBUG (thousands a minute at
     * shift change). Epic's error text is already trimmed by {@link EpicOutcome}; no bodies, no tokens.
     */
    private void logOutcome(JobStore.ClaimedJob job, String requestId, JobStore.Outcome o) {
        var line = switch (o.outcome()) {
            case "failed", "expired" -> log.atWarn();
            case "not_associated" -> log.atInfo();
            default -> log.atDebug();
        };
        line.addKeyValue("environment", environmentId).addKeyValue("requestId", requestId)
                .addKeyValue("jobId", job.id()).addKeyValue("deviceId", job.deviceId())
                .addKeyValue("attempt", job.attempts()).addKeyValue("httpStatus", o.httpStatus())
                .log("Epic call for job {}: {}{}", job.id(), o.outcome(), o.error() == null ? "" : " (" + o.error() + ")");
    }

    private JobStore.Outcome toRecord(JobStore.ClaimedJob job, EpicOutcome o, JobStore.Call call) {
        Integer status = o.status() == 0 ? null : o.status();
        return switch (o.kind()) {
            case DONE -> new JobStore.Outcome(job.id(), "done", status, null, null, call);
            case NOT_ASSOCIATED -> new JobStore.Outcome(job.id(), "not_associated", status, o.error(), null, call);
            case PERMANENT -> new JobStore.Outcome(job.id(), "failed", status, o.error(), null, call);
            case RETRY -> retries.nextDelay(job.attempts(), o.retryAfter())
                    .map(d -> new JobStore.Outcome(job.id(), "retry", status, o.error(), OffsetDateTime.now(ZoneOffset.UTC).plus(d), call))
                    .orElseGet(() -> new JobStore.Outcome(job.id(), "failed", status,
                            "gave up after " + job.attempts() + " attempts: " + o.error(), null, call));
        };
    }

    private void outcome(JobStore.ClaimedJob job, JobStore.Outcome o) {
        unrecorded.add(o);
        metrics.disassociation(environmentId, o.outcome());
        if (unrecorded.size() >= RECORD_BATCH) {
            flushOutcomes();
        }
    }

    private void flushOutcomes() {
        if (recording || unrecorded.isEmpty()) {
            return;
        }
        List<JobStore.Outcome> batch = new ArrayList<>(unrecorded);
        unrecorded.clear();
        recording = true;
        jobs.record(batch, owner, fence).onComplete(ar -> {
            recording = false;
            if (ar.failed() && ar.cause() instanceof io.vertx.pgclient.PgException pg && pg.getSqlState() != null
                    && pg.getSqlState().startsWith("23") && batch.size() > 1) {
                // a constraint refused the batch: the same batch would be refused for ever, so write the outcomes
                // one by one (each on its own cannot conflict with another of the batch)
                error().log("Lane {}: a batch of {} outcomes was refused ({}); writing them one by one", environmentId,
                        batch.size(), pg.getMessage());
                batch.forEach(o -> jobs.record(List.of(o), owner, fence).onFailure(e -> error().log(
                        "Lane {}: outcome of job {} not written ({}); the lease rescue requeues it", environmentId,
                        o.jobId(), e.getMessage())));
            } else if (ar.failed()) {
                // the calls were made; keep the outcomes and write them again (the lease fence keeps this safe)
                warn().log("Lane {} could not record {} outcomes: {}", environmentId, batch.size(), ar.cause().getMessage());
                unrecorded.addAll(0, batch);
            } else if (ar.result().size() < batch.size()) {
                warn().log("Lane {}: {} outcomes rejected (lease lost to another replica)", environmentId,
                        batch.size() - ar.result().size());
            }
        });
    }

    private void sleep(long millis) {
        if (stopped) {
            return;
        }
        vertx.cancelTimer(wakeTimer);
        wakeTimer = vertx.setTimer(Math.max(1, millis), id -> {
            wakeTimer = -1;
            pump();
        });
    }
}
