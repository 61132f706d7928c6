package dev.roverlogout.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.Deque;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    @DisplayName("a lane that sends whenever the bucket allows never exceeds rate + burst in any one-second window, and averages the rate")
    void neverFasterThanRatePlusBurst() {
        TokenBucket bucket = new TokenBucket(50, 10, 0);
        Deque<Long> window = new ArrayDeque<>();
        int sent = 0;
        int maxInWindow = 0;
        for (long now = 0; now <= 20 * SECOND; now += 1_000_000) { // a try every millisecond for 20 s
            while (bucket.tryTake(now)) {
                sent++;
                window.addLast(now);
            }
            while (!window.isEmpty() && window.peekFirst() <= now - SECOND) {
                window.removeFirst();
            }
            maxInWindow = Math.max(maxInWindow, window.size());
        }
        assertThat(maxInWindow).isLessThanOrEqualTo(60);
        assertThat(sent).isBetween(1000, 1011); // 10 burst + 50/s for 20 s
    }

    @Test
    @DisplayName("the wait until the next token is exact, and a lower rate or a drain after 429 takes effect at once")
    void waitsAndReconfiguration() {
        TokenBucket bucket = new TokenBucket(10, 1, 0);
        assertThat(bucket.tryTake(0)).isTrue();
        assertThat(bucket.tryTake(0)).isFalse();
        assertThat(bucket.nanosUntilNext(0)).isEqualTo(SECOND / 10);
        assertThat(bucket.tryTake(SECOND / 10)).isTrue();
        bucket.reconfigure(2, 1, SECOND / 10);
        assertThat(bucket.nanosUntilNext(SECOND / 10)).isEqualTo(SECOND / 2);
        TokenBucket full = new TokenBucket(100, 20, 0);
        assertThat(full.available(0)).isEqualTo(20);
        full.drain(0);
        assertThat(full.available(0)).isZero();
        assertThat(full.available(SECOND / 10)).isEqualTo(10);
    }
}
