package dev.roverlogout.dispatch;

import java.time.Duration;
import java.util.Optional;
import java.util.function.DoubleSupplier;

/**
 * When a retryable outcome is tried again (contract §6, issue 4): exponential backoff with full jitter
 * ({@code random(0, min(cap, base * 2^(attempt-1)))}), never sooner than Epic's Retry-After, and no more attempts
 * after {@code maxAttempts}. Pure: the random source is passed in.
 */
public final class RetryPolicy {
    private final Duration base;
    private final Duration cap;
    private final int maxAttempts;
    private final DoubleSupplier random;

    public RetryPolicy(Duration base, Duration cap, int maxAttempts, DoubleSupplier random) {
        this.base = base;
        this.cap = cap;
        this.maxAttempts = maxAttempts;
        this.random = random;
    }

    /**
     * The delay before the next attempt after attempt number {@code attempts} (1 = the first call) failed
     * retryably; empty when the attempts are used up (the job is dead-lettered as failed).
     */
    public Optional<Duration> nextDelay(int attempts, Optional<Duration> retryAfter) {
        if (attempts >= maxAttempts) {
            return Optional.empty();
        }
        long ceiling = cap.toMillis();
        int shift = Math.min(attempts - 1, 30);
        long exponential = base.toMillis() > ceiling >> shift ? ceiling : Math.min(ceiling, base.toMillis() << shift);
        long jittered = (long) (random.getAsDouble() * exponential);
        long floor = retryAfter.map(Duration::toMillis).orElse(0L);
        return Optional.of(Duration.ofMillis(Math.max(jittered, floor)));
    }
}
