package dev.roverlogout.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;

/**
 * Request smuggling over raw sockets against a real gateway: a request whose framing a front proxy could read
 * differently (Content-Length and Transfer-Encoding together, a Transfer-Encoding other than chunked, no or two Host
 * headers) is answered 400 problem details and its connection closed, so a check-in hidden in its body is never
 * answered or stored. Without the check, the hidden check-in is answered 202 on the same connection.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RequestFramingTest {
    private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] (\\d{3})");

    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
        Fixtures.environment(http, gw, "framing", "READY");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
    }

    /** A complete, valid check-in of {@code device}, as a request of its own. */
    private static String hiddenCheckIn(String device) {
        String body = Fixtures.batch(Fixtures.checkIn("ev-" + device, "framing", device, "2026-11-29T07:00:00Z")).encode();
        return "POST /v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.INGEST
                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    /** Writes {@code request}, reads until the server closes the connection; fails if it stays open. */
    private static String exchange(int port, String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    all.write(buf, 0, n);
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the connection stayed open; read so far: " + all.toString(StandardCharsets.US_ASCII));
            }
            return all.toString(StandardCharsets.US_ASCII);
        }
    }

    /**
     * The first answer is our 400 problem; nothing behind it is answered but with a 400 (bytes that follow a body
     * Netty read as empty are a malformed request line, which Vert.x itself answers 400 before the close).
     */
    private static void assertRefused(String response, String detailPart) {
        Matcher m = STATUS_LINE.matcher(response);
        assertThat(m.find()).as(response).isTrue();
        assertThat(m.group(1)).as(response).isEqualTo("400");
        while (m.find()) {
            assertThat(m.group(1)).as("the hidden request was answered: " + response).isEqualTo("400");
        }
        assertThat(response).doesNotContain("\"accepted\"");
        assertThat(response).contains("application/problem+json").contains(detailPart).contains("connection is closed");
    }

    private long stored(String device) {
        return TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM device_event WHERE device_id = '" + device + "'");
    }

    @Test
    @DisplayName("Content-Length and Transfer-Encoding together: 400, connection closed, the check-in hidden in the chunked body never stored")
    void contentLengthWithTransferEncoding() throws IOException {
        String smuggled = "POST /v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.INGEST
                + "\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                + hiddenCheckIn("smuggled-cl-te");
        assertRefused(exchange(gw.publicPort(), smuggled), "both Content-Length and Transfer-Encoding");
        assertThat(stored("smuggled-cl-te")).isZero();
        String admin = "GET /admin/environments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
        assertRefused(exchange(gw.managementPort(), admin), "both Content-Length and Transfer-Encoding");
        new HostileOracle(gw, http).assertHealthy();
    }

    @ParameterizedTest(name = "Transfer-Encoding: {0}")
    @ValueSource(strings = {"gzip, chunked", "chunked, chunked", "identity", "chunked\r\nTransfer-Encoding: chunked",
            "xchunked"})
    @DisplayName("a Transfer-Encoding other than exactly chunked: 400, connection closed, nothing behind it answered")
    void otherTransferEncodings(String coding) throws IOException {
        String device = "smuggled-te-" + Integer.toHexString(coding.hashCode());
        String request = "POST /v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.INGEST
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: " + coding + "\r\n\r\n0\r\n\r\n" + hiddenCheckIn(device);
        assertRefused(exchange(gw.publicPort(), request), "Transfer-Encoding must be exactly");
        assertThat(stored(device)).isZero();
    }

    @Test
    @DisplayName("Transfer-Encoding on an HTTP/1.0 request: 400 and the connection closed")
    void transferEncodingOnHttp10() throws IOException {
        String request = "POST /v1/checkins HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.INGEST
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hiddenCheckIn("smuggled-10");
        assertRefused(exchange(gw.publicPort(), request), "HTTP/1.0 request must not carry Transfer-Encoding");
        assertThat(stored("smuggled-10")).isZero();
    }

    @Test
    @DisplayName("two Host headers, or none in HTTP/1.1: 400 and the connection closed")
    void hostHeaders() throws IOException {
        assertRefused(exchange(gw.publicPort(), "GET /jwks/framing.json HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
                + hiddenCheckIn("smuggled-host")), "one Host header, not 2");
        assertRefused(exchange(gw.managementPort(), "GET /health/live HTTP/1.1\r\n\r\n"), "must carry a Host header");
        assertThat(stored("smuggled-host")).isZero();
    }

    @Test
    @DisplayName("well-framed requests are unaffected: chunked alone, Content-Length alone, HTTP/1.0 without Host")
    void wellFramedServed() throws IOException {
        String body = Fixtures.batch(Fixtures.checkIn("ev-chunked", "framing", "chunked-device", "2026-11-29T07:00:00Z")).encode();
        String chunked = "POST /v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.INGEST
                + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                + Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n";
        assertThat(exchange(gw.publicPort(), chunked)).startsWith("HTTP/1.1 202");
        assertThat(stored("chunked-device")).isOne();
        assertThat(exchange(gw.publicPort(), hiddenCheckIn("plain-device").replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n")))
                .startsWith("HTTP/1.1 202");
        assertThat(stored("plain-device")).isOne();
        assertThat(exchange(gw.managementPort(), "GET /health/live HTTP/1.0\r\n\r\n")).startsWith("HTTP/1.0 200");
    }
}
