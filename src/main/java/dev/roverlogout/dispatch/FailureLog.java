package dev.roverlogout.dispatch;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes an environment's failing Epic calls visible in the log without flooding it: a WARN when calls (or the token
 * requests they need) start failing — the outcome, Epic's message or the network error, the request id — then at
 * most one summary line per {@link #SUMMARY_EVERY} ("12 more failures, last: …"), and an INFO when a call succeeds
 * again. A device Epic does not know (404) is an answer, not a failure. Never a token, a key or a body: the error
 * texts come from {@code EpicOutcome}, which keeps Epic's message only. Confined to the lane's context.
 */
final class FailureLog {
    static final Duration SUMMARY_EVERY = Duration.ofSeconds(30);
    private static final Logger log = LoggerFactory.getLogger(Lane.class);

    private final String environmentId;
    private boolean failing;
    private long failuresSinceLine;
    private long failuresInAll;
    private long lastLineAt;
    private String lastError;
    private String lastRequestId;

    FailureLog(String environmentId) {
        this.environmentId = environmentId;
    }

    /** A call (or its token request) failed: {@code outcome} retry or failed, with Epic's message or the network error. */
    void failed(String outcome, String error, String requestId, long nowNanos) {
        lastError = outcome + ": " + error;
        lastRequestId = requestId;
        failuresInAll++;
        if (!failing) {
            failing = true;
            lastLineAt = nowNanos;
            log.atWarn().addKeyValue("environment", environmentId).addKeyValue("requestId", requestId)
                    .log("Epic calls of environment {} are failing: {} (request {})", environmentId, lastError, requestId);
            return;
        }
        failuresSinceLine++;
        summarise(nowNanos);
    }

    /** Writes the summary line if one is due (also called by the lane's timer, so a quiet failing lane reports too). */
    void summarise(long nowNanos) {
        if (failing && failuresSinceLine > 0 && nowNanos - lastLineAt >= SUMMARY_EVERY.toNanos()) {
            log.atWarn().addKeyValue("environment", environmentId).addKeyValue("requestId", lastRequestId)
                    .log("Epic calls of environment {}: {} more failures, last: {} (request {})", environmentId,
                            failuresSinceLine, lastError, lastRequestId);
            failuresSinceLine = 0;
            lastLineAt = nowNanos;
        }
    }

    /** A call got Epic's answer (done, or a device Epic does not know). */
    void succeeded() {
        if (failing) {
            log.atInfo().addKeyValue("environment", environmentId).log("Epic calls of environment {} succeed again "
                    + "after {} failures", environmentId, failuresInAll);
            failing = false;
            failuresSinceLine = 0;
            failuresInAll = 0;
        }
    }
}
