package dev.roverlogout.dispatch;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.epic.EpicOutcome;
import dev.roverlogout.store.JobStore;
import io.vertx.circuitbreaker.OpenCircuitException;
import io.vertx.core.Future;

/**
 * What an Epic answer makes of a job (contract §6): done, not_associated, failed (a dead letter), or retry after
 * the {@link RetryPolicy}'s backoff, until it gives up; and the one log line per call. Pure but for the log.
 */
final class CallOutcomes {
    private static final Logger log = LoggerFactory.getLogger(Lane.class);

    private final String environmentId;
    private final RetryPolicy retries;

    CallOutcomes(String environmentId, RetryPolicy retries) {
        this.environmentId = environmentId;
        this.retries = retries;
    }

    /** A retryable failure (not a 429: that is push-back) the circuit breaker counts against Epic. */
    private static final class FailedCall extends RuntimeException {
        final EpicOutcome outcome;

        FailedCall(EpicOutcome outcome) {
            super(outcome.error(), null, false, false);
            this.outcome = outcome;
        }
    }

    /** Epic's answer, as the circuit breaker sees it: a retryable failure fails the call's future. */
    static Future<EpicOutcome> failIfRetryable(EpicOutcome r) {
        return r.kind() == EpicOutcome.Kind.RETRY && r.status() != 429 ? Future.failedFuture(new FailedCall(r))
                : Future.succeededFuture(r);
    }

    /** The outcome of a call through the breaker: Epic's {@code answer}, or what its {@code failure} means. */
    static EpicOutcome answer(EpicOutcome answer, Throwable failure) {
        return answer != null ? answer
                : failure instanceof FailedCall f ? f.outcome
                : failure instanceof OpenCircuitException // raced the opening: not sent
                        ? new EpicOutcome(EpicOutcome.Kind.RETRY, 0, Optional.empty(), "not sent: circuit open")
                : EpicOutcome.transportError(failure); // includes no answer within half the lease
    }

    /** The job is older than {@code dispatch.maxAge}: no call. */
    JobStore.Outcome expired(JobStore.ClaimedJob job) {
        return new JobStore.Outcome(job.id(), "expired", null, "older than dispatch.maxAge", null);
    }

    /** The outcome to record for Epic's answer {@code o} to {@code call} (null: no call was made). */
    JobStore.Outcome of(JobStore.ClaimedJob job, EpicOutcome o, JobStore.Call call) {
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

    /**
     * One line per Epic call, keyed by the check-in's request id (the {@code X-Request-ID} Epic saw): a job that ended
     * badly (dead letter, expired) and a device Epic did not know at INFO, successes and retries at DEBUG (thousands
     * a minute at shift change); an environment whose calls fail says so at WARN once, in {@link FailureLog}. Epic's
     * error text is already trimmed by {@link EpicOutcome}; no bodies, no tokens.
     */
    void log(JobStore.ClaimedJob job, JobStore.Outcome o) {
        var line = switch (o.outcome()) {
            case "failed", "expired", "not_associated" -> log.atInfo();
            default -> log.atDebug();
        };
        String requestId = job.requestId() != null ? job.requestId() : "job-" + job.id();
        line.addKeyValue("environment", environmentId).addKeyValue("requestId", requestId)
                .addKeyValue("jobId", job.id()).addKeyValue("deviceId", job.deviceId())
                .addKeyValue("attempt", job.attempts()).addKeyValue("httpStatus", o.httpStatus())
                .log("Epic call for job {}: {}{}", job.id(), o.outcome(), o.error() == null ? "" : " (" + o.error() + ")");
    }
}
