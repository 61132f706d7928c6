package dev.roverlogout.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
    @Test
    @DisplayName("backoff doubles from base up to the cap with full jitter, honours Retry-After, and stops at maxAttempts")
    void backoff() {
        RetryPolicy top = new RetryPolicy(Duration.ofSeconds(1), Duration.ofMinutes(5), 20, () -> 0.999999);
        assertThat(top.nextDelay(1, Optional.empty()).orElseThrow()).isBetween(Duration.ofMillis(990), Duration.ofSeconds(1));
        assertThat(top.nextDelay(4, Optional.empty()).orElseThrow()).isBetween(Duration.ofMillis(7990), Duration.ofSeconds(8));
        assertThat(top.nextDelay(15, Optional.empty()).orElseThrow()).isBetween(Duration.ofMillis(299_000), Duration.ofMinutes(5));
        assertThat(top.nextDelay(19, Optional.empty())).isPresent();
        assertThat(top.nextDelay(20, Optional.empty())).isEmpty();

        RetryPolicy bottom = new RetryPolicy(Duration.ofSeconds(1), Duration.ofMinutes(5), 20, () -> 0.0);
        assertThat(bottom.nextDelay(3, Optional.empty()).orElseThrow()).isZero();
        assertThat(bottom.nextDelay(3, Optional.of(Duration.ofSeconds(7))).orElseThrow()).isEqualTo(Duration.ofSeconds(7));
    }
}
