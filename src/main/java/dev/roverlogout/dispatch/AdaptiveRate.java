package dev.roverlogout.dispatch;

import java.time.Duration;

/**
 * A lane's rate in force and its token bucket: at most the environment's configured rate (the ceiling), and below it
 * what Epic has shown it really allows. Confined to the lane's context; a PATCHed ceiling applies at the next
 * {@link #adjust}.
 *
 * <p>Push-back (429, or 503 with Retry-After) is one <em>congestion event</em> per {@link #EVENT_GAP}: the calls in
 * flight when the first 429 came back are answered 429 too, and halving once per answer (as this class did before)
 * collapsed the rate to a fraction of Epic's limit. At an event the lane learns the limit: the most calls Epic took
 * in one of the last three wall-clock seconds (rate limits count calendar seconds, or a sliding second that holds no
 * more; a sliding count of ours could straddle two of Epic's seconds and see nearly twice the limit), at most the rate
 * in force and never less than half of it, and continues at {@link #BETA} of it. Nothing is sent before Retry-After.
 * Then it stays there for a plateau ({@link #PLATEAU}, doubled while events keep finding the same limit) and probes:
 * while far below the rate Epic refused, it halves the distance to it each second (the limit lies in between; an
 * estimate taken while the lane had just started is low); close to it, it grows by {@link #PROBE_PER_SECOND} of the
 * learned limit per second; {@link #BREAKOUT} above the refused rate without a 429 means Epic allows more now, and it
 * climbs back to the ceiling by 10 % of it per second. The tokens earned while waiting out Retry-After are dropped
 * (a full bucket sent at once after the wait ran straight into the next 429). A lane without answers for {@link #FORGET_AFTER} (nothing to
 * send) forgets what it learned. Against an Epic that allows 30/s while the environment says 50/s this runs just under
 * 30/s with a 429 every half minute or so, where halving on every 429 used ~64 % of it (BENCHMARKS.md, retry-storm).
 */
final class AdaptiveRate {
    /** How much of the rate the bucket keeps out of the burst against delivery jitter. */
    static final double JITTER_RESERVE_SECONDS = 0.1;
    /** 429s closer together than this belong to one congestion event (the calls already in flight). */
    static final long EVENT_GAP = 1_000_000_000L;
    /** After an event, the rate in force is this share of the learned limit. */
    static final double BETA = 0.97;
    /**
     * How long the rate stays just under the learned limit before probing above it; doubled (up to
     * {@link #MAX_PLATEAU}) while events keep finding the same limit (within {@link #SAME_LIMIT}), so a stable limit
     * costs a 429 a minute rather than one every few seconds.
     */
    static final long PLATEAU = 4_000_000_000L;
    static final long MAX_PLATEAU = 64_000_000_000L;
    static final double SAME_LIMIT = 0.05;
    /** A lane that has had no answer this long forgets what it learned (Epic's limit may be another now). */
    static final long FORGET_AFTER = 10_000_000_000L;
    /**
     * Probing: while the rate in force is more than this share below the rate Epic refused, the distance is halved
     * each second (the limit lies in between); closer, the rate grows by {@link #PROBE_PER_SECOND}.
     */
    static final double CLOSE = 0.03;
    /** Probing: the share of the learned limit added per second. */
    static final double PROBE_PER_SECOND = 0.01;
    /** Probing this far above the rate Epic refused without a 429 means Epic allows more: climb fast again. */
    static final double BREAKOUT = 1.05;
    static final double MIN_RATE = 0.5;

    private TokenBucket bucket;
    private double current;
    private long lastIncreaseNanos;
    private long holdUntilNanos;
    /** Epic's limit as the last congestion event showed it; NaN before any. */
    private double learned = Double.NaN;
    /** The rate in force that Epic refused at the last event: the limit lies between {@link #learned} and this. */
    private double refusedAt = Double.NaN;
    private long lastHalvingNanos;
    private boolean drainAfterHold;
    private long lastEventNanos;
    private long plateau = PLATEAU;
    private long lastAnswerNanos;
    /** Epoch nanoseconds minus {@link System#nanoTime()}: Epic counts calls in wall-clock seconds. */
    private final long clockOffsetNanos;
    private long acceptedSecond = Long.MIN_VALUE;
    /** Calls taken in the current wall-clock second and the {@code length - 1} before it (index: second mod length). */
    private final int[] acceptedPerSecond = new int[3];

    /** {@code clockOffsetNanos}: wall-clock epoch nanoseconds minus {@link System#nanoTime()}, to tell Epic's seconds. */
    AdaptiveRate(long nowNanos, long clockOffsetNanos) {
        this.clockOffsetNanos = clockOffsetNanos;
        this.holdUntilNanos = nowNanos;
        this.lastEventNanos = nowNanos - EVENT_GAP;
        this.lastAnswerNanos = nowNanos;
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

    /** Moves the rate towards {@code ceiling} as described above; creates the bucket on first use. The rate in force. */
    double adjust(double ceiling, int burst, long now) {
        if (bucket == null) {
            current = ceiling;
            lastIncreaseNanos = now;
            bucket = new TokenBucket(current, effectiveBurst(burst, ceiling), now);
        }
        if (!Double.isNaN(learned) && now - lastAnswerNanos >= FORGET_AFTER && now - lastEventNanos >= FORGET_AFTER) {
            learned = Double.NaN; // idle: the next calls find out again
            refusedAt = Double.NaN;
            plateau = PLATEAU;
        }
        double target = Math.min(current, ceiling);
        long sinceIncrease = now - lastIncreaseNanos;
        if (target < ceiling && sinceIncrease >= 1_000_000_000L / 10) {
            double seconds = sinceIncrease / 1e9;
            if (Double.isNaN(learned) || target >= refusedAt * BREAKOUT) {
                target += Math.max(0.5, ceiling * 0.1) * seconds;
            } else if (now - lastEventNanos >= plateau) {
                if (refusedAt - target > CLOSE * refusedAt) {
                    if (now - lastHalvingNanos >= 1_000_000_000L) {
                        target += (refusedAt - target) / 2; // the limit lies between: halve the distance each second
                        lastHalvingNanos = now;
                    }
                } else {
                    target += Math.max(0.05, learned * PROBE_PER_SECOND) * seconds;
                }
            }
            target = Math.min(ceiling, target);
            lastIncreaseNanos = now;
        }
        int b = effectiveBurst(burst, ceiling);
        if (target != bucket.rate() || b != bucket.burst()) {
            bucket.reconfigure(target, b, now);
        }
        if (drainAfterHold && holdNanos(now) <= 0) {
            // the tokens earned while waiting out Retry-After are not a burst Epic allows: a full bucket sent at once
            // after the wait ran straight into the next 429
            bucket.drain(now);
            drainAfterHold = false;
        }
        current = target;
        return current;
    }

    /** Epic answered a call without push-back (any answer but 429 / 503 with Retry-After). */
    void accepted(long now) {
        lastAnswerNanos = now;
        long second = second(now);
        for (long skipped = Math.max(acceptedSecond + 1, second - acceptedPerSecond.length + 1); skipped <= second; skipped++) {
            acceptedPerSecond[(int) Math.floorMod(skipped, (long) acceptedPerSecond.length)] = 0; // seconds begun since
        }
        acceptedSecond = Math.max(acceptedSecond, second);
        acceptedPerSecond[(int) Math.floorMod(second, (long) acceptedPerSecond.length)]++;
    }

    private long second(long now) {
        return Math.floorDiv(now + clockOffsetNanos, 1_000_000_000L);
    }

    /**
     * Push-back: nothing is sent before {@code retryAfter}; the first of a congestion event learns the limit and
     * lowers the rate just under it. Returns the rate in force.
     */
    double pushBack(Duration retryAfter, long now) {
        holdUntilNanos = Math.max(holdUntilNanos, now + retryAfter.toNanos());
        drainAfterHold = true;
        if (bucket != null) {
            bucket.drain(now);
        }
        if (now - lastEventNanos < EVENT_GAP) {
            return current; // an answer to a call that left before the first 429 of this event came back
        }
        lastEventNanos = now;
        lastAnswerNanos = now;
        double before = learned;
        refusedAt = current;
        lastHalvingNanos = now;
        // Epic's limit is about the most it took in a second (less than the rate in force when far above it), never
        // less than half the rate in force; continue a little under it
        learned = Math.max(MIN_RATE, Math.min(current, Math.max(current / 2, mostAcceptedInASecond(now))));
        current = Math.max(MIN_RATE, learned * BETA);
        plateau = !Double.isNaN(before) && Math.abs(learned - before) <= SAME_LIMIT * before
                ? Math.min(MAX_PLATEAU, plateau * 2) : PLATEAU;
        lastIncreaseNanos = now;
        if (bucket != null) {
            bucket.reconfigure(current, bucket.burst(), now);
        }
        return current;
    }

    /**
     * The most calls Epic took in one of the last three wall-clock seconds (this one included): one second may have
     * been spent waiting for Retry-After.
     */
    private int mostAcceptedInASecond(long now) {
        int most = 0;
        for (int i = 0; i < acceptedPerSecond.length; i++) {
            long second = second(now) - i;
            if (second <= acceptedSecond && second > acceptedSecond - acceptedPerSecond.length) {
                most = Math.max(most, acceptedPerSecond[(int) Math.floorMod(second, (long) acceptedPerSecond.length)]);
            }
        }
        return most;
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

    /** Epic's limit as the last congestion event showed it (NaN before any). */
    double learned() {
        return learned;
    }
}
