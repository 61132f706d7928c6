package dev.roverlogout.epic;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.roverlogout.store.SigningKeyRow;

/**
 * Which keys of an environment sign and which are published, following the safe rotation order: a new key is
 * published at once, signs from its {@code signingFrom} (now + {@code keys.rotationGrace}), and the key it
 * replaced stays published until it has been unused for {@code keys.retireAfter}. Pure: derived from the rows.
 */
public final class KeyRing {
    private KeyRing() {
    }

    /** The key that signs now: the newest whose signing start has come. */
    public static Optional<SigningKeyRow> current(List<SigningKeyRow> keys, Instant now) {
        SigningKeyRow current = null;
        for (SigningKeyRow k : keys) {
            if (!k.signingFrom().toInstant().isAfter(now)) {
                current = k;
            }
        }
        return Optional.ofNullable(current);
    }

    /** The keys in the JWKS: the current one, the coming ones, and replaced ones not yet unused for retireAfter. */
    public static List<SigningKeyRow> published(List<SigningKeyRow> keys, Instant now, Duration retireAfter) {
        List<SigningKeyRow> published = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            SigningKeyRow k = keys.get(i);
            Instant unusedSince = i + 1 < keys.size() ? keys.get(i + 1).signingFrom().toInstant() : null;
            boolean replaced = unusedSince != null && !unusedSince.isAfter(now);
            if (!replaced || unusedSince.plus(retireAfter).isAfter(now)) {
                published.add(k);
            }
        }
        return published;
    }
}
