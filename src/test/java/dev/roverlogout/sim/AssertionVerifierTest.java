package dev.roverlogout.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;

import dev.roverlogout.epic.ClientAssertion;

/** The simulator refuses what Epic refuses, so that tests against it mean something. */
class AssertionVerifierTest {
    private static final String URL = "http://epic.test/PRD/oauth2/token";

    private static ECKey key(String kid) throws Exception {
        return new ECKeyGenerator(Curve.P_384).keyID(kid).algorithm(JWSAlgorithm.ES384).generate();
    }

    @Test
    @DisplayName("a correct assertion passes; wrong audience, issuer, signing key or lifetime are refused")
    void claimsAndSignature() throws Exception {
        ECKey registered = key("k1");
        JWKSet set = new JWKSet(registered.toPublicJWK());
        Instant now = Instant.now();
        assertThat(AssertionVerifier.verify(ClientAssertion.sign(registered, "client", URL, now), set, "client", URL, now))
                .isNotBlank();
        assertThatThrownBy(() -> AssertionVerifier.verify(ClientAssertion.sign(registered, "client", "http://other/token", now),
                set, "client", URL, now)).hasFieldOrPropertyWithValue("reason", "audience");
        assertThatThrownBy(() -> AssertionVerifier.verify(ClientAssertion.sign(registered, "someone", URL, now),
                set, "client", URL, now)).hasFieldOrPropertyWithValue("reason", "issuer");
        assertThatThrownBy(() -> AssertionVerifier.verify(ClientAssertion.sign(key("k1"), "client", URL, now),
                set, "client", URL, now)).hasFieldOrPropertyWithValue("reason", "signature");
        assertThatThrownBy(() -> AssertionVerifier.verify(ClientAssertion.sign(key("k9"), "client", URL, now),
                set, "client", URL, now)).hasFieldOrPropertyWithValue("reason", "unknown_kid");
        Instant later = now.plus(ClientAssertion.LIFETIME).plusSeconds(1);
        assertThatThrownBy(() -> AssertionVerifier.verify(ClientAssertion.sign(registered, "client", URL, now),
                set, "client", URL, later)).hasFieldOrPropertyWithValue("reason", "expired");
    }
}
