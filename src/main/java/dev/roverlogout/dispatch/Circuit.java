package dev.roverlogout.dispatch;

import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.metrics.GatewayMetrics;
import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerOptions;
import io.vertx.circuitbreaker.CircuitBreakerState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * One environment's circuit: a vertx-circuit-breaker whose own failure count is switched off and which a
 * {@link FailureDetector} opens instead (consecutive failures, or a failure ratio; a plain count in a window would
 * open a busy, healthy Epic's circuit for a 0.1 % error rate). While open the lane claims and sends nothing; after
 * {@code dispatch.circuit.resetTimeout} one probe call decides (half-open). 429s are push-back, not failures (AIMD).
 * Publishes {@code rlg_circuit_open}. Confined to the lane's context.
 */
final class Circuit {
    private static final Logger log = LoggerFactory.getLogger(Lane.class);

    private final CircuitBreaker breaker;
    private final FailureDetector failures;
    private boolean closed;

    /** @param onHalfOpen runs when the probe call may go (the lane wakes up to send it) */
    Circuit(Vertx vertx, String environmentId, GatewayMetrics metrics, GatewayConfig.Dispatch config, Runnable onHalfOpen) {
        this.failures = new FailureDetector(config.circuitMaxFailures(), config.circuitFailureRatio(), config.circuitMinCalls());
        this.breaker = CircuitBreaker.create("epic-" + environmentId, vertx, new CircuitBreakerOptions()
                        .setMaxFailures(Integer.MAX_VALUE).setFailuresRollingWindow(10_000)
                        .setResetTimeout(config.circuitResetTimeout().toMillis()).setTimeout(-1)
                        .setNotificationAddress(null))
                .openHandler(v -> {
                    if (!closed) {
                        failures.reset();
                        metrics.circuit(environmentId, 1);
                        log.atWarn().addKeyValue("environment", environmentId).log("Circuit of environment {} opened "
                                + "after repeated failures; pausing calls for {}", environmentId, config.circuitResetTimeout());
                    }
                })
                .halfOpenHandler(v -> {
                    if (!closed) {
                        metrics.circuit(environmentId, 0.5);
                        onHalfOpen.run();
                    }
                })
                .closeHandler(v -> {
                    if (!closed) {
                        metrics.circuit(environmentId, 0);
                        log.atInfo().addKeyValue("environment", environmentId).log("Circuit of environment {} closed", environmentId);
                    }
                });
        metrics.circuit(environmentId, 0);
    }

    CircuitBreakerState state() {
        return breaker.state();
    }

    /** closed, open or half_open (as stored in lane_lease.circuit). */
    String report() {
        return switch (breaker.state()) {
            case OPEN -> "open";
            case HALF_OPEN -> "half_open";
            default -> "closed";
        };
    }

    /** Runs one call through the breaker: an open circuit fails it at once with {@code OpenCircuitException}. */
    <T> Future<T> execute(Supplier<Future<T>> call) {
        return breaker.execute(call);
    }

    /** Counts a call that was really sent; opens the circuit when the detector says so. */
    void sent(boolean failed, long nowNanos) {
        if (breaker.state() == CircuitBreakerState.CLOSED && failures.record(failed, nowNanos)) {
            breaker.open();
        }
    }

    /** The lane stopped: no more transitions are reported. */
    void close() {
        closed = true;
        breaker.close();
    }
}
