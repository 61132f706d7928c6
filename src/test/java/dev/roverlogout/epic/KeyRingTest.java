package dev.roverlogout.epic;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.store.SigningKeyRow;

class KeyRingTest {
    private static final Instant T0 = Instant.parse("2026-11-29T07:00:00Z");

    private static SigningKeyRow key(String kid, Instant signingFrom) {
        OffsetDateTime from = OffsetDateTime.ofInstant(signingFrom, ZoneOffset.UTC);
        return new SigningKeyRow(kid, "env", "ES384", "{}", "jwe", from, from);
    }

    @Test
    @DisplayName("a rotated-in key is published at once, signs only from its signingFrom, and the old key leaves the JWKS retireAfter later")
    void rotationOrder() {
        Duration grace = Duration.ofMinutes(10);
        Duration retireAfter = Duration.ofHours(48);
        List<SigningKeyRow> keys = List.of(key("old", T0.minus(Duration.ofDays(30))), key("new", T0.plus(grace)));

        assertThat(KeyRing.current(keys, T0).orElseThrow().kid()).isEqualTo("old");
        assertThat(KeyRing.published(keys, T0, retireAfter)).extracting(SigningKeyRow::kid).containsExactly("old", "new");

        Instant switched = T0.plus(grace);
        assertThat(KeyRing.current(keys, switched).orElseThrow().kid()).isEqualTo("new");
        assertThat(KeyRing.published(keys, switched.plus(retireAfter).minusSeconds(1), retireAfter))
                .extracting(SigningKeyRow::kid).containsExactly("old", "new");
        assertThat(KeyRing.published(keys, switched.plus(retireAfter), retireAfter))
                .extracting(SigningKeyRow::kid).containsExactly("new");
    }
}
