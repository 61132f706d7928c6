package dev.roverlogout.dispatch;

import java.time.Duration;

/**
 * A lane's rate in force (AIMD) and its token bucket: at most the environment's configured rate, halved on
 * push-back (429, or 503 with Retry-After) with nothing sent before Retry-After, raised by 10 % of the ceiling per
 * second back to it. A PATCHed ceiling applies at the next {@link #adjust}. Confined to the lane's context.
 */
final class AdaptiveRate {
    /** How much of the rate the bucket keeps out of the burst against delivery jitter. */
    static final double JITTER_RESERVE_SECONDS = 0.1;
    private TokenBucket bucket;
    private double current;
    private long lastIncreaseNanos;
    private long holdUntilNanos;

    AdaptiveRate(long nowNanos) {
        this.holdUntilNanos = nowNanos;
    }

    /**
     * Headroom against delivery jitter: calls leave within rate + burst per sliding second, but a call sent at the
     * end of one second may arrive in the next, so Epic could count a few more in its own second. The lane keeps
     * 100 ms worth of the rate out of the burst (at least one call): never faster than Epic allows, as Epic counts.
     * (50 ms proved too little on a loaded machine: an outage test once counted 111 arrivals in a sliding second
     * against rate + burst 110.)
     */
    static int effectiveBurst(int burst, double rate) {
        return Math.max(1, burst - (int) Math.ceil(rate * JITTER_RESERVE_SECONDS));
    }

    /** Additive increase towards {@code ceiling}; creates the bucket on first use. Returns the rate in force. */
    double adjust(double ceiling, int burst, long now) {
        if (bucket == null) {
            current = ceiling;
            lastIncreaseNanos = now;
            bucket = new TokenBucket(current, effectiveBurst(burst, ceiling), now);
        }
        double target = Math.min(current, ceiling);
        if (target < ceiling && now - lastIncreaseNanos >= 1_000_000_000L) {
            target = Math.min(ceiling, target + Math.max(0.5, ceiling * 0.1));
            lastIncreaseNanos = now;
        }
        if (target != bucket.rate() || effectiveBurst(burst, ceiling) != bucket.burst()) {
            bucket.reconfigure(target, effectiveBurst(burst, ceiling), now);
        }
        current = target;
        return current;
    }

    /** Multiplicative decrease, and nothing sent before {@code retryAfter}. Returns the rate in force. */
    double pushBack(Duration retryAfter, long now) {
        current = Math.max(0.5, current / 2);
        lastIncreaseNanos = now;
        holdUntilNanos = Math.max(holdUntilNanos, now + retryAfter.toNanos());
        if (bucket != null) {
            bucket.reconfigure(current, bucket.burst(), now);
            bucket.drain(now);
        }
        return current;
    }

    /** Nanoseconds still to wait for Epic's Retry-After (0 or less: none). */
    long holdNanos(long now) {
        return holdUntilNanos - now;
    }

    /** The bucket; valid after the first {@link #adjust}. */
    TokenBucket bucket() {
        return bucket;
    }

    /** Whether the first {@link #adjust} happened (before it, the configured rate is the rate in force). */
    boolean started() {
        return bucket != null;
    }

    double current() {
        return current;
    }
}
