package dev.roverlogout.dispatch;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.epic.EpicClient;
import dev.roverlogout.epic.EpicOutcome;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentCache;
import dev.roverlogout.store.JobStore;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.circuitbreaker.OpenCircuitException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * One environment's dispatch loop on one replica, while that replica holds the environment's lane lease: the pump
 * claims due jobs (no more than it may send soon) and sends each when the token bucket ({@link AdaptiveRate}), the
 * concurrency cap and the {@link Circuit} allow; outcomes go to the {@link OutcomeRecorder}, failures to the
 * {@link FailureLog}. A lane sends nothing once its lease may have run out ({@link #leaseRenewed}), nothing for a
 * PAUSED environment, and only READY environments get lanes. All state is confined to the supervisor's context.
 */
final class Lane {
    private static final Logger log = LoggerFactory.getLogger(Lane.class);

    private final Vertx vertx;
    private final String environmentId;
    private final String owner;
    private final long fence;
    private final EnvironmentCache environments;
    private final JobStore jobs;
    private final EpicClient epic;
    private final CallOutcomes outcomes;
    private final GatewayMetrics metrics;
    private final GatewayConfig.Dispatch config;
    /** Claimed jobs waiting for a token. */
    private final HeldJobs claimed;
    private final OutcomeRecorder recorder;
    private final FailureLog failures;
    private final Circuit circuit;
    private final Promise<Void> drained = Promise.promise();
    private final AdaptiveRate rate = new AdaptiveRate(System.nanoTime(),
            System.currentTimeMillis() * 1_000_000L - System.nanoTime());
    private int inFlight;
    private boolean claiming;
    private long wakeTimer = -1;
    private long flushTimer = -1;
    private boolean stopped;
    /** Local monotonic time until which the lease is surely ours (renewals push it forward). */
    private long leaseValidUntil;

    Lane(Vertx vertx, String environmentId, String owner, long fence, long leaseValidUntil, EnvironmentCache environments,
         JobStore jobs, EpicClient epic, RetryPolicy retries, GatewayMetrics metrics, GatewayConfig.Dispatch config) {
        this.vertx = vertx;
        this.environmentId = environmentId;
        this.owner = owner;
        this.fence = fence;
        this.leaseValidUntil = leaseValidUntil;
        this.environments = environments;
        this.jobs = jobs;
        this.epic = epic;
        this.outcomes = new CallOutcomes(environmentId, retries);
        this.metrics = metrics;
        this.config = config;
        this.recorder = new OutcomeRecorder(jobs, environmentId, owner, fence);
        this.claimed = new HeldJobs(jobs, environmentId, owner, fence);
        this.failures = new FailureLog(environmentId);
        this.circuit = new Circuit(vertx, environmentId, metrics, config, this::wake);
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
        return circuit.report();
    }

    void start() {
        flushTimer = vertx.setPeriodic(OutcomeRecorder.EVERY_MILLIS, id -> {
            recorder.flush();
            failures.summarise(System.nanoTime());
        });
        pump();
    }

    /** The supervisor renewed the lease: it is surely this lane's until {@code validUntil} (local monotonic nanos). */
    void leaseRenewed(long validUntil) {
        leaseValidUntil = validUntil;
        wake();
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
        circuit.close();
        vertx.cancelTimer(wakeTimer);
        vertx.cancelTimer(flushTimer);
        Future<?> unclaimed = claimed.giveBack();
        metrics.laneStopped(environmentId);
        // outcomes of calls still under way arrive after stop: write them as they come, then report drained
        recorder.drain(vertx, () -> inFlight == 0, config.leaseDuration()).onComplete(ar -> {
            if (!ar.result()) {
                log.atWarn().addKeyValue("environment", environmentId).log("Lane {} stopped with {} calls unanswered and "
                        + "{} outcomes unwritten; the lease rescue requeues those jobs", environmentId, inFlight, recorder.waiting());
            }
            unclaimed.onComplete(x -> drained.tryComplete());
        });
        return drained.future();
    }

    /** Runs the loop now (new jobs may be due). */
    void wake() {
        claimed.claimAheadFrom(System.nanoTime());
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
            claimed.giveBack(); // paused, gone, or lease in doubt: the supervisor decides what happens next
            sleep(200);
            return;
        }
        Environment e = env.get();
        metrics.rateLimit(environmentId, rate.adjust(e.rateLimitPerSecond(), e.burst(), now));
        TokenBucket bucket = rate.bucket();
        if (rate.holdNanos(now) > 0) {
            claimed.giveBack();
            sleep(Math.max(1, rate.holdNanos(now) / 1_000_000)); // honouring Epic's Retry-After
            return;
        }
        CircuitBreakerState state = circuit.state();
        if (state == CircuitBreakerState.OPEN) {
            claimed.giveBack();
            sleep(200); // no claims, no calls: no retry storm against a down Epic
            return;
        }
        int concurrency = state == CircuitBreakerState.HALF_OPEN ? 1 : e.maxConcurrency(); // one probe
        // a job's lease must outlive its call: one held for a quarter of the lease is given back rather than
        // sent, since a call may take up to half of the lease
        long maxHold = config.leaseDuration().toNanos() / 4;
        if (!claimed.isEmpty() && now - claimed.oldestClaimedAt() > maxHold) {
            claimed.giveBack();
        }
        while (!claimed.isEmpty() && inFlight < concurrency && bucket.tryTake(now)) {
            send(e, claimed.next());
        }
        // claim ahead (HeldJobs#toClaim): the free call slots plus one more round, never more than can leave within
        // ~50 ms at the rate in force (tokens now and what the rate adds meanwhile)
        int soon = bucket.available(now) + (int) Math.ceil(rate.current() * 0.05);
        int more = claimed.toClaim(Math.min(config.batchSize(), Math.min(soon, 2 * concurrency - inFlight)), now);
        if (!claiming && more > 0) {
            claim(more);
        }
        if (!claimed.isEmpty() && inFlight < concurrency) {
            sleep(Math.max(1, bucket.nanosUntilNext(now) / 1_000_000)); // waiting for a token
        }
        // otherwise a call's completion or the claim's answer pumps
    }

    /** Claims up to {@code limit} due jobs (see {@link HeldJobs#toClaim} for how many). */
    private void claim(int limit) {
        claiming = true;
        jobs.claim(environmentId, owner, fence, limit, config.leaseDuration()).onComplete(ar -> {
            claiming = false;
            if (ar.failed()) {
                log.atWarn().addKeyValue("environment", environmentId).log("Lane {} cannot claim jobs: {}", environmentId,
                        ar.cause().getMessage());
                claimed.claimAheadFrom(System.nanoTime() + 1_000_000_000L);
                if (claimed.isEmpty()) {
                    sleep(1000);
                } else {
                    pump(); // the jobs held keep their token timer; no claim ahead for a second
                }
                return;
            }
            long now = System.nanoTime();
            claimed.add(ar.result(), now);
            if (ar.result().size() < limit) {
                // fewer due jobs than asked: no claiming ahead until new jobs are notified (wake) or a poll passes
                claimed.claimAheadFrom(now + config.pollInterval().toNanos());
            }
            if (claimed.isEmpty()) {
                sleep(config.pollInterval().toMillis());
            } else {
                pump(); // (an empty claim-ahead must not replace the timer of jobs waiting for a token)
            }
        });
    }

    /**
     * A check-out fenced job {@code jobId} after this lane claimed it. If its call has not left yet, it never will:
     * the job is given back, which cancels it (it is fenced). A call already under way cannot be taken back.
     */
    void fenced(long jobId) {
        claimed.fenced(jobId);
    }

    private void send(Environment env, JobStore.ClaimedJob job) {
        OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
        String requestId = job.requestId() != null ? job.requestId() : "job-" + job.id();
        if (job.receivedAt().plus(config.maxAge()).isBefore(now)) {
            record(job, outcomes.expired(job));
            return;
        }
        inFlight++;
        circuit.<EpicOutcome>execute(() -> epic.disassociate(env, job.deviceId(), requestId).compose(CallOutcomes::failIfRetryable))
                // the whole call, token included, ends within half of the job's lease: it can never be rescued and
                // sent again while this one is still under way
                .timeout(config.leaseDuration().toMillis() / 2, TimeUnit.MILLISECONDS)
                .onComplete(ar -> {
                    inFlight--;
                    answered(job, requestId, now, ar.succeeded() ? ar.result() : null, ar.cause());
                    pump();
                });
    }

    /** A call ended: Epic's answer ({@code answer}), or why there is none ({@code failure}). */
    private void answered(JobStore.ClaimedJob job, String requestId, OffsetDateTime startedAt, EpicOutcome answer,
                          Throwable failure) {
        boolean sent = !(failure instanceof OpenCircuitException); // raced the opening: not sent
        EpicOutcome o = CallOutcomes.answer(answer, failure);
        JobStore.Call call = sent ? new JobStore.Call(job.attempts(), startedAt, OffsetDateTime.now(ZoneOffset.UTC), requestId) : null;
        JobStore.Outcome outcome = outcomes.of(job, o, call);
        record(job, outcome);
        long nowNanos = System.nanoTime();
        boolean failed = o.kind() == EpicOutcome.Kind.RETRY && o.status() != 429;
        if (sent) {
            circuit.sent(failed, nowNanos);
            if (o.kind() == EpicOutcome.Kind.DONE || o.kind() == EpicOutcome.Kind.NOT_ASSOCIATED) {
                failures.succeeded();
            } else {
                failures.failed(outcome.outcome(), o.error(), requestId, nowNanos);
            }
        }
        if (o.status() == 429 || o.status() == 503 && o.retryAfter().isPresent()) {
            metrics.rateLimit(environmentId, rate.pushBack(o.retryAfter().orElse(Duration.ofSeconds(1)), nowNanos));
            log.debug("Lane {}: Epic pushed back ({}); its limit looks like {}/s, the rate in force is {}/s",
                    environmentId, o.status(), rate.learned(), rate.current());
        } else if (sent && answer != null) {
            rate.accepted(nowNanos); // Epic took the call (whatever it answered): counts towards the limit it shows
        }
        if (o.kind() == EpicOutcome.Kind.DONE || o.kind() == EpicOutcome.Kind.NOT_ASSOCIATED) {
            // the SLO: from the check-in's receipt to Epic's final answer (retries included)
            metrics.checkinToDisassociation(environmentId, Duration.between(job.receivedAt(), OffsetDateTime.now(ZoneOffset.UTC)));
        }
    }

    private void record(JobStore.ClaimedJob job, JobStore.Outcome outcome) {
        outcomes.log(job, outcome);
        metrics.disassociation(environmentId, outcome.outcome());
        recorder.add(outcome);
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
