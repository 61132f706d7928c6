package dev.roverlogout.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Random;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The lane's rate against a model of Epic, in virtual time (no clock, no threads: the same numbers on any machine).
 * The model counts calls per calendar second as the simulator does and answers 429 with Retry-After: 1 over its limit,
 * and a share of the calls it takes with a 503 (counted towards its limit). A lane with an endless backlog sends
 * whenever its bucket and Retry-After allow, as {@code Lane} does.
 */
class AdaptiveRateTest {
    private static final long MS = 1_000_000L;
    private static final long S = 1_000 * MS;

    /** What a run of the model saw. */
    record Run(long sent, long taken, long refused429, double rateAtEnd, int maxInAnySecond) {
    }

    /**
     * Runs a lane against Epic for {@code seconds} (measured after {@code warmUp}): Epic takes {@code epicLimit} calls
     * per calendar second (0 = any), the environment is configured for {@code ceiling} with {@code burst}, each call
     * is answered after {@code latency}. {@code liftAt} (≥ 0): from then on Epic takes any number.
     */
    static Run run(double ceiling, int burst, int epicLimit, double errorRate, long latency, double warmUp, double seconds,
                   double liftAt) {
        AdaptiveRate rate = new AdaptiveRate(0, 0);
        Random random = new Random(42);
        ArrayDeque<long[]> inFlight = new ArrayDeque<>(); // {answerAt, 429?}
        long windowSecond = -1;
        int windowCount = 0;
        long sent = 0;
        long taken = 0;
        long refused = 0;
        ArrayDeque<Long> lastSecond = new ArrayDeque<>();
        int maxInAnySecond = 0;
        long start = (long) (warmUp * S);
        long end = start + (long) (seconds * S);
        for (long now = 0; now < end; now += MS / 4) {
            while (!inFlight.isEmpty() && inFlight.peek()[0] <= now) {
                long[] call = inFlight.poll();
                if (call[1] == 1) {
                    rate.pushBack(Duration.ofSeconds(1), now);
                } else {
                    rate.accepted(now);
                }
            }
            rate.adjust(ceiling, burst, now);
            if (rate.holdNanos(now) > 0 || !rate.bucket().tryTake(now)) {
                continue;
            }
            long arrival = now + latency / 2;
            long second = arrival / S;
            if (second != windowSecond) {
                windowSecond = second;
                windowCount = 0;
            }
            boolean lifted = liftAt >= 0 && arrival >= liftAt * S;
            boolean tooMany = !lifted && epicLimit > 0 && ++windowCount > epicLimit;
            boolean measured = now >= start;
            if (measured) {
                sent++;
                lastSecond.add(now);
                while (now - lastSecond.peek() >= S) {
                    lastSecond.poll();
                }
                maxInAnySecond = Math.max(maxInAnySecond, lastSecond.size());
                if (tooMany) {
                    refused++;
                } else if (random.nextDouble() >= errorRate) {
                    taken++;
                }
            }
            inFlight.add(new long[] {now + latency, tooMany ? 1 : 0});
        }
        return new Run(sent, taken, refused, rate.current(), maxInAnySecond);
    }

    @Test
    @DisplayName("Epic takes 30/s, the environment says 50/s, 10 % fail with 503: the lane uses at least 90 % of Epic's limit")
    void usesWhatEpicReallyAllows() {
        Run r = run(50, 10, 30, 0.1, 20 * MS, 10, 120, -1);
        double acceptedPerSecond = (r.sent() - r.refused429()) / 120.0; // calls Epic took (2xx or 503)
        System.out.printf("model: Epic took %.1f calls/s of 30 (%d answered 2xx), %d × 429 in 120 s%n", acceptedPerSecond,
                r.taken(), r.refused429());
        assertThat(acceptedPerSecond).as("calls Epic took per second, of its 30/s").isGreaterThanOrEqualTo(27);
        assertThat(r.refused429()).as("429s in two minutes").isLessThanOrEqualTo(60);
        assertThat(r.maxInAnySecond()).as("never over the configured limit + burst").isLessThanOrEqualTo(60);
    }

    @Test
    @DisplayName("the 429s answered to calls already in flight are one congestion event: one decrease, not one per 429")
    void oneDecreasePerEvent() {
        AdaptiveRate rate = new AdaptiveRate(0, 0);
        rate.adjust(50, 10, 0);
        for (int i = 0; i < 30; i++) {
            rate.accepted(i * 30 * MS);
        }
        double afterFirst = rate.pushBack(Duration.ofSeconds(1), 900 * MS);
        for (int i = 1; i <= 8; i++) {
            assertThat(rate.pushBack(Duration.ofSeconds(1), 900 * MS + i * 20 * MS)).isEqualTo(afterFirst);
        }
        assertThat(rate.learned()).as("the calls Epic took in a second").isEqualTo(30);
        assertThat(afterFirst).as("just under it").isEqualTo(30 * AdaptiveRate.BETA);
        for (int i = 0; i < 31; i++) {
            rate.accepted(3 * S + i * 30 * MS);
        }
        assertThat(rate.pushBack(Duration.ofSeconds(1), 4 * S)).as("at the edge: the rate in force was a little too fast")
                .isEqualTo(30 * AdaptiveRate.BETA * AdaptiveRate.BETA);
        assertThat(rate.holdNanos(900 * MS + 160 * MS)).as("Retry-After honoured").isPositive();
    }

    @Test
    @DisplayName("a second spent waiting for Retry-After does not make the learned limit collapse: at most half per event")
    void atMostHalfPerEvent() {
        AdaptiveRate rate = new AdaptiveRate(0, 0);
        rate.adjust(40, 10, 0);
        assertThat(rate.pushBack(Duration.ofSeconds(1), 5 * S)).isEqualTo(20 * AdaptiveRate.BETA);
    }

    @Test
    @DisplayName("when Epic allows more again, a busy lane finds out after its plateau and climbs back to the ceiling")
    void climbsBackWhenEpicAllowsMore() {
        Run limited = run(50, 10, 20, 0, 20 * MS, 0, 30, -1);
        assertThat(limited.rateAtEnd()).as("while Epic takes 20/s").isLessThan(22);
        // lifted after 30 s: at most the longest plateau, then probing past the learned limit, then 10 % of 50 a second
        Run lifted = run(50, 10, 20, 0, 20 * MS, 0, 30 + AdaptiveRate.MAX_PLATEAU / 1e9 + 20, 30);
        assertThat(lifted.rateAtEnd()).isEqualTo(50);
    }

    @Test
    @DisplayName("a lane with nothing to send forgets the limit it learned: its next calls find out again")
    void forgetsWhenIdle() {
        AdaptiveRate rate = new AdaptiveRate(0, 0);
        rate.adjust(50, 10, 0);
        for (int i = 0; i < 20; i++) {
            rate.accepted(i * 50 * MS);
        }
        assertThat(rate.learned()).isNaN();
        rate.pushBack(Duration.ofSeconds(1), S);
        assertThat(rate.learned()).as("half of 50: never less in one event").isEqualTo(25);
        long idleFrom = S;
        double r = 0;
        assertThat(rate.current()).isLessThan(25);
        for (long t = idleFrom; t <= idleFrom + AdaptiveRate.FORGET_AFTER + 6 * S; t += 100 * MS) {
            r = rate.adjust(50, 10, t);
        }
        assertThat(rate.learned()).isNaN();
        assertThat(r).isEqualTo(50);
    }

    @Test
    @DisplayName("without push-back the rate stays at the ceiling, and a lowered ceiling applies at once")
    void ceiling() {
        Run r = run(50, 10, 0, 0, 20 * MS, 5, 30, -1);
        assertThat(r.refused429()).isZero();
        assertThat(r.rateAtEnd()).isEqualTo(50);
        assertThat(r.sent() / 30.0).isGreaterThan(49);
        AdaptiveRate rate = new AdaptiveRate(0, 0);
        rate.adjust(50, 10, 0);
        assertThat(rate.adjust(20, 10, S)).isEqualTo(20);
    }
}
