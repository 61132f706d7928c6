package dev.roverlogout.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FailureDetectorTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    @DisplayName("opens after maxFailures failures in a row; a success in between starts the count again")
    void consecutive() {
        FailureDetector d = new FailureDetector(3, 1.0, 1000);
        assertThat(d.record(true, 0)).isFalse();
        assertThat(d.record(true, 1)).isFalse();
        assertThat(d.record(false, 2)).isFalse();
        assertThat(d.record(true, 3)).isFalse();
        assertThat(d.record(true, 4)).isFalse();
        assertThat(d.record(true, 5)).isTrue();
    }

    @Test
    @DisplayName("a busy, healthy Epic with a few scattered errors keeps its circuit closed")
    void scatteredErrorsAtHighRate() {
        FailureDetector d = new FailureDetector(10, 0.5, 20);
        boolean opened = false;
        for (int i = 0; i < 10_000; i++) { // 1,000 calls/s for 10 s, 1 % failing, never two in a row
            opened |= d.record(i % 100 == 0, i * (SECOND / 1000));
        }
        assertThat(opened).isFalse();
    }

    @Test
    @DisplayName("opens when at least minCalls calls within 10 s fail at the ratio, even with successes in between")
    void ratio() {
        FailureDetector d = new FailureDetector(1000, 0.5, 20);
        boolean opened = false;
        int calls = 0;
        for (int i = 0; i < 40 && !opened; i++) { // alternate: 50 % failures
            opened = d.record(i % 2 == 1, i * (SECOND / 10));
            calls++;
        }
        assertThat(opened).isTrue();
        assertThat(calls).isEqualTo(20);
    }

    @Test
    @DisplayName("failures older than 10 s no longer count")
    void window() {
        FailureDetector d = new FailureDetector(1000, 0.5, 4);
        d.record(true, 0);
        d.record(true, 1);
        d.record(true, 2);
        assertThat(d.record(false, 11 * SECOND)).isFalse();
        assertThat(d.record(true, 11 * SECOND + 1)).isFalse(); // 1 of 2 recent calls: below minCalls
        assertThat(d.record(false, 12 * SECOND)).isFalse();
        assertThat(d.record(true, 12 * SECOND + 1)).isTrue(); // 2 of 4 recent calls
    }
}
