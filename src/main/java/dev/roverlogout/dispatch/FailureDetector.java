package dev.roverlogout.dispatch;

/**
 * Decides when an environment's circuit opens: after {@code maxConsecutive} retryable failures in a row, or when
 * at least {@code minCalls} calls of the last ten seconds failed at {@code ratio} or more. The count alone is not
 * enough: at 1,000 calls/s a 0.1 % error rate would reach any fixed number within seconds, and a busy, healthy
 * Epic must keep its circuit closed. Counted in one-second buckets; confined to the lane's context.
 */
final class FailureDetector {
    private static final int SECONDS = 10;

    private final int maxConsecutive;
    private final double ratio;
    private final int minCalls;
    private final long[] calls = new long[SECONDS];
    private final long[] failures = new long[SECONDS];
    private final long[] bucketSecond = new long[SECONDS];
    private int consecutive;

    FailureDetector(int maxConsecutive, double ratio, int minCalls) {
        this.maxConsecutive = maxConsecutive;
        this.ratio = ratio;
        this.minCalls = minCalls;
        java.util.Arrays.fill(bucketSecond, Long.MIN_VALUE);
    }

    /** Records one call's outcome at monotonic time {@code nowNanos}; true when the circuit should open. */
    boolean record(boolean failed, long nowNanos) {
        long second = Math.floorDiv(nowNanos, 1_000_000_000L);
        int i = (int) Math.floorMod(second, SECONDS);
        if (bucketSecond[i] != second) {
            bucketSecond[i] = second;
            calls[i] = 0;
            failures[i] = 0;
        }
        calls[i]++;
        if (failed) {
            failures[i]++;
            consecutive++;
        } else {
            consecutive = 0;
            return false;
        }
        if (consecutive >= maxConsecutive) {
            return true;
        }
        long total = 0;
        long failed10 = 0;
        for (int b = 0; b < SECONDS; b++) {
            if (bucketSecond[b] > second - SECONDS) {
                total += calls[b];
                failed10 += failures[b];
            }
        }
        return total >= minCalls && failed10 >= ratio * total;
    }

    /** Forgets everything (the circuit opened: after it closes again, counting starts afresh). */
    void reset() {
        consecutive = 0;
        java.util.Arrays.fill(bucketSecond, Long.MIN_VALUE);
    }
}
