package dev.roverlogout.epic;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class EpicOutcomeTest {
    @Test
    @DisplayName("every status class maps to the contract's outcome, keeping Epic's error text")
    void classifiesEveryStatusClass() {
        assertThat(EpicOutcome.classify(200, null, "{}").kind()).isEqualTo(EpicOutcome.Kind.DONE);
        assertThat(EpicOutcome.classify(204, null, "").kind()).isEqualTo(EpicOutcome.Kind.DONE);
        assertThat(EpicOutcome.classify(404, null, "{\"Message\":\"Device not found\"}").kind())
                .isEqualTo(EpicOutcome.Kind.NOT_ASSOCIATED);
        for (int retryable : new int[] {408, 425, 429, 500, 502, 503, 504}) {
            assertThat(EpicOutcome.classify(retryable, null, "").kind()).as("status " + retryable).isEqualTo(EpicOutcome.Kind.RETRY);
        }
        for (int permanent : new int[] {400, 401, 403, 405, 409, 422}) {
            assertThat(EpicOutcome.classify(permanent, null, "").kind()).as("status " + permanent)
                    .isEqualTo(EpicOutcome.Kind.PERMANENT);
        }
        EpicOutcome bad = EpicOutcome.classify(400, null,
                "{\"Message\":\"The request is invalid.\",\"ExceptionMessage\":\"InstallID is required\"}");
        assertThat(bad.error()).isEqualTo("400 The request is invalid.: InstallID is required");
        assertThat(EpicOutcome.transportError(new java.net.ConnectException("Connection refused")).kind())
                .isEqualTo(EpicOutcome.Kind.RETRY);
    }

    @Test
    @DisplayName("Retry-After is read as seconds or an HTTP date; OAuth errors keep error and description")
    void retryAfterAndOAuthErrors() {
        assertThat(EpicOutcome.classify(429, "7", "").retryAfter()).contains(Duration.ofSeconds(7));
        assertThat(EpicOutcome.classify(503, "Wed, 21 Oct 2015 07:28:00 GMT", "").retryAfter()).contains(Duration.ZERO);
        assertThat(EpicOutcome.classify(503, "soon", "").retryAfter()).isEmpty();
        assertThat(EpicOutcome.errorText("{\"error\":\"invalid_client\",\"error_description\":\"key not known\"}"))
                .isEqualTo("invalid_client: key not known");
        // what an arbitrary server answered is never quoted: the gateway is no proxy for reading internal services
        assertThat(EpicOutcome.errorText("<html>Bad Gateway internal-secret</html>")).doesNotContain("internal-secret")
                .contains("not quoted");
        assertThat(EpicOutcome.errorText("{\"config\":{\"password\":\"internal-secret\"}}")).doesNotContain("internal-secret");
        assertThat(EpicOutcome.errorText("{\"Message\":\"" + "x".repeat(2000) + "\"}")).hasSizeLessThan(310);
        assertThat(EpicOutcome.errorText("{\"Message\":\"line\\nbreak\\u0000\"}")).isEqualTo("line break");
        assertThat(EpicOutcome.transportText(new io.netty.handler.codec.DecoderException(
                new IllegalArgumentException("invalid version format: SSH-2.0-OPENSSH_9.0 INTERNAL-SECRET"))))
                .doesNotContain("SECRET").contains("not a valid HTTP response");
        assertThat(EpicOutcome.transportText(new java.net.ConnectException("Connection refused: /10.0.0.1:443")))
                .isEqualTo("Connection refused: /10.0.0.1:443");
    }
}
