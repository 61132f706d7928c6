package dev.roverlogout.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;

/** Tokens configured as sha256:<hex> so that config files hold no plaintext secret. */
class TokenFormsTest {
    @Test
    @DisplayName("a sha256: configured token accepts the plaintext token, and the digest itself is not a token")
    void sha256Tokens() {
        String adminDigest = HexFormat.of().formatHex(BearerAuth.sha256(TestGateway.ADMIN));
        String ingestDigest = HexFormat.of().formatHex(BearerAuth.sha256(TestGateway.INGEST));
        try (TestGateway gw = TestGateway.start(Map.of("RLG_AUTH_ADMINTOKEN", "sha256:" + adminDigest,
                "RLG_AUTH_INGESTTOKEN", "sha256:" + ingestDigest.toUpperCase(java.util.Locale.ROOT)));
             Http http = new Http()) {
            assertThat(http.get(gw.managementPort(), "/admin/environments", TestGateway.ADMIN).statusCode()).isEqualTo(200);
            assertThat(http.get(gw.managementPort(), "/admin/environments", "sha256:" + adminDigest).statusCode()).isEqualTo(401);
            assertThat(http.get(gw.managementPort(), "/admin/environments", adminDigest).statusCode()).isEqualTo(401);
            assertThat(http.get(gw.managementPort(), "/admin/environments", TestGateway.INGEST).statusCode()).isEqualTo(403);
        }
    }
}
