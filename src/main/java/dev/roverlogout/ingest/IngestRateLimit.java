package dev.roverlogout.ingest;

/**
 * {@code ingest.rateLimitPerSecond}: how many events the ingest token may submit to this replica per second. Events,
 * not requests: the database pays per event, so a limit on requests would let a 1000-event batch through at the price
 * of one check-in. A token bucket refilling {@code rate} per second and holding one second's worth, but at least a
 * full batch ({@link CheckInValidator#MAX_EVENTS}), so that any valid request can pass once the bucket is full.
 * A request takes all its events or none (nothing of a refused request is stored).
 *
 * <p>There is one ingest token per deployment (every locker shares it), so this is one bucket per replica: it does
 * not make lockers fair to each other; it keeps a runaway client (a fleet re-sending in a loop, a replay of history)
 * from taking the database away from dispatch. Shared by the public API's event loops, hence synchronized (a few
 * arithmetic operations per request).
 */
public final class IngestRateLimit {
    private final double rate;
    private final double capacity;
    private double tokens;
    private long lastNanos;

    /** @param ratePerSecond events per second; 0 = no limit */
    public IngestRateLimit(int ratePerSecond, long nowNanos) {
        this.rate = ratePerSecond;
        this.capacity = Math.max(ratePerSecond, CheckInValidator.MAX_EVENTS);
        this.tokens = capacity;
        this.lastNanos = nowNanos;
    }

    /**
     * Takes {@code events} tokens if there are that many.
     *
     * @return 0 when taken; else the whole seconds (at least 1) after which the bucket will hold them: the
     *         {@code Retry-After} of the 429
     */
    /** Gives back {@code events} taken for a request that was then refused (422, 503): nothing of it was stored. */
    public synchronized void refund(int events) {
        if (rate > 0) {
            tokens = Math.min(capacity, tokens + events);
        }
    }

    public synchronized long tryTake(int events, long nowNanos) {
        if (rate <= 0) {
            return 0;
        }
        tokens = Math.min(capacity, tokens + (nowNanos - lastNanos) / 1e9 * rate);
        lastNanos = nowNanos;
        if (tokens >= events) {
            tokens -= events;
            return 0;
        }
        return Math.max(1, (long) Math.ceil((events - tokens) / rate));
    }
}
