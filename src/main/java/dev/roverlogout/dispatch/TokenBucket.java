package dev.roverlogout.dispatch;

/**
 * A token bucket for one Epic instance: {@code rate} calls per second on average, at most {@code burst} at once.
 * Time is passed in (nanoseconds, monotonic), so the bucket is pure and exact in tests; a lane asks
 * {@link #tryTake} before every call and, when refused, waits {@link #nanosUntilNext} (with a Vert.x timer).
 * Not thread-safe: each lane owns its bucket on its own context.
 *
 * <p>Any one-second window sees at most {@code rate + burst} calls: the bucket holds at most {@code burst} tokens
 * and refills {@code rate} per second. The rate can change at any time (AIMD, or a PATCH); tokens already
 * earned are kept, capped by the burst.
 */
public final class TokenBucket {
    private double rate;
    private int burst;
    private double tokens;
    private long lastNanos;

    public TokenBucket(double rate, int burst, long nowNanos) {
        if (rate <= 0 || burst < 1) {
            throw new IllegalArgumentException("rate must be > 0 and burst >= 1");
        }
        this.rate = rate;
        this.burst = burst;
        this.tokens = burst;
        this.lastNanos = nowNanos;
    }

    /** Takes one token if there is one. */
    public boolean tryTake(long nowNanos) {
        refill(nowNanos);
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** How long until a token is there (0 if one is there now). */
    public long nanosUntilNext(long nowNanos) {
        refill(nowNanos);
        return tokens >= 1 ? 0 : (long) Math.ceil((1 - tokens) / rate * 1e9);
    }

    /** Whole tokens available now (a lane claims no more jobs than it may send). */
    public int available(long nowNanos) {
        refill(nowNanos);
        return (int) Math.floor(tokens);
    }

    /** Changes rate and burst from now on. */
    public void reconfigure(double newRate, int newBurst, long nowNanos) {
        refill(nowNanos);
        if (newRate <= 0 || newBurst < 1) {
            throw new IllegalArgumentException("rate must be > 0 and burst >= 1");
        }
        rate = newRate;
        burst = newBurst;
        tokens = Math.min(tokens, burst);
    }

    /** Drops the tokens earned so far (after a 429: Epic said we went too fast). */
    public void drain(long nowNanos) {
        refill(nowNanos);
        tokens = Math.min(tokens, 0);
    }

    public double rate() {
        return rate;
    }

    public int burst() {
        return burst;
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - lastNanos;
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + elapsed / 1e9 * rate);
            lastNanos = nowNanos;
        }
    }
}
