package dev.roverlogout.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * Slow and abusive clients against real gateways over raw sockets: slowloris and silent connections are closed by the
 * request-head deadline, a body trickled after a complete head by the body deadline (while a request answered slowly
 * is not cut), oversized heads are refused without harm, the connection cap holds, and the per-token ingest
 * rate limit answers 429 problem details with Retry-After. Bounds in this test are generous upper limits for a shared
 * machine, never the thing measured: each feature, deleted, leaves the connection open (or the request accepted).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SlowClientsTest {
    /** How long a test waits at most for the server to close a connection (the deadlines under test are 1 s). */
    private static final long CLOSE_BOUND_MILLIS = 30_000;

    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_HTTP_HEADERTIMEOUT", "1s", "RLG_HTTP_BODYTIMEOUT", "1s",
                "RLG_INGEST_RATELIMITPERSECOND", "1"));
        http = new Http();
        Fixtures.environment(http, gw, "slow", "READY");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
    }

    /**
     * Writes {@code head} then trickles {@code trickle} one byte per 100 ms, until the server closes the connection
     * (true) or the bound passes (false). Never idle for the 60 s idle timeout: only the head or body deadline can
     * close it.
     */
    private static boolean closedWhileTrickling(int port, String head, String trickle) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(100);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            long deadline = System.nanoTime() + CLOSE_BOUND_MILLIS * 1_000_000;
            int i = 0;
            while (System.nanoTime() < deadline) {
                try {
                    if (in.read() < 0) {
                        return true;
                    }
                } catch (SocketTimeoutException e) {
                    // nothing from the server yet
                } catch (IOException e) {
                    return true; // reset
                }
                try {
                    out.write(trickle.charAt(i++ % trickle.length()));
                    out.flush();
                } catch (IOException e) {
                    return true;
                }
            }
            return false;
        }
    }

    @Test
    @DisplayName("slowloris: a request line and headers trickled a byte at a time are cut off by the head deadline")
    void slowloris() throws IOException {
        assertThat(closedWhileTrickling(gw.publicPort(), "POST /v1/checkins HTTP/1.1\r\nHost: x\r\n", "X-Slow: aaaa\r\n"))
                .as("public port").isTrue();
        assertThat(closedWhileTrickling(gw.publicPort(), "GET /jwks/sl", "o")).as("half a request line").isTrue();
        assertThat(closedWhileTrickling(gw.managementPort(), "GET /health/ready HTTP/1.1\r\n", "X-Slow: b\r\n"))
                .as("management port").isTrue();
        new HostileOracle(gw, http).assertHealthy();
    }

    @Test
    @DisplayName("slow body: an authenticated request with a complete head whose body is trickled is cut off by the body deadline")
    void slowBody() throws IOException {
        // the head is complete and authenticated, so the head deadline is over; only the body deadline can close these
        String checkins = "POST /v1/checkins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.INGEST
                + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"events\":[";
        assertThat(closedWhileTrickling(gw.publicPort(), checkins, " ")).as("public port, ingest token").isTrue();
        String admin = "POST /admin/environments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestGateway.ADMIN
                + "\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"id\":";
        assertThat(closedWhileTrickling(gw.managementPort(), admin, " ")).as("management port, admin token").isTrue();
        new HostileOracle(gw, http).assertHealthy();
    }

    @Test
    @DisplayName("a request received whole but answered slowly (test-connection, ~2.5 s) is not cut by the 1 s body deadline")
    void slowAnswerNotCut() throws IOException {
        // an "Epic" that accepts connections (the kernel's backlog) and never answers: test-connection's http step
        // waits its 2.5 s for it
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            JsonObject env = Fixtures.environment("slow-answer").put("allowInsecure", true)
                    .put("interconnectUrl", "http://127.0.0.1:" + silent.getLocalPort());
            assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, env).statusCode())
                    .isEqualTo(201);
            long start = System.nanoTime();
            HttpResponse<Buffer> r = http.post(gw.managementPort(), "/admin/environments/slow-answer/test-connection",
                    TestGateway.ADMIN, new JsonObject());
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(millis).as("answered after the body deadline").isGreaterThan(1_500);
            assertThat(r.bodyAsJsonObject().getJsonArray("steps").stream().map(o -> (JsonObject) o)
                    .filter(o -> o.getString("step").equals("http")).map(o -> o.getString("status")))
                    .as("the http step waited for the silent server").containsExactly("failed");
        }
    }

    @Test
    @DisplayName("a connection that sends nothing is closed; a kept-alive one still serves its requests")
    void silentConnection() throws IOException {
        try (Socket s = new Socket("127.0.0.1", gw.publicPort())) {
            s.setSoTimeout((int) CLOSE_BOUND_MILLIS);
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        for (int i = 0; i < 3; i++) { // keep-alive: one connection, several requests, each answered
            assertThat(http.get(gw.managementPort(), "/health/live", null).statusCode()).isEqualTo(200);
        }
    }

    private static String rawResponse(int port, String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) CLOSE_BOUND_MILLIS);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            byte[] buf = new byte[200];
            int n = s.getInputStream().read(buf);
            return n < 0 ? "" : new String(buf, 0, n, StandardCharsets.US_ASCII);
        }
    }

    @Test
    @DisplayName("oversized heads are refused (431 for headers too large or too many, 414 for a long request line), the gateway stays ready")
    void headerLimits() throws IOException {
        String big = "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n";
        assertThat(rawResponse(gw.managementPort(), big)).containsPattern("^HTTP/1\\.[01] 431");
        StringBuilder many = new StringBuilder("POST /v1/checkins HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 5000; i++) {
            many.append("h").append(i).append(": v\r\n");
        }
        assertThat(rawResponse(gw.publicPort(), many.append("\r\n").toString())).containsPattern("^HTTP/1\\.[01] 431");
        String longLine = "GET /jwks/" + "a".repeat(10_000) + ".json HTTP/1.1\r\nHost: x\r\n\r\n";
        assertThat(rawResponse(gw.publicPort(), longLine)).containsPattern("^HTTP/1\\.[01] 414");
        new HostileOracle(gw, http).assertHealthy();
    }

    @Test
    @DisplayName("over http.maxConnections a new connection is closed at once; when one closes, a new one is served")
    void connectionCap() throws Exception {
        try (TestGateway capped = TestGateway.start(Map.of("RLG_HTTP_MAXCONNECTIONS", "3", "RLG_HTTP_HEADERTIMEOUT", "5m",
                "RLG_HTTP_IDLETIMEOUT", "5m"))) {
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(new Socket("127.0.0.1", capped.publicPort()));
                }
                // the three are really open: each answers a request
                for (Socket s : held) {
                    s.setSoTimeout((int) CLOSE_BOUND_MILLIS);
                    s.getOutputStream().write("GET /jwks/none.json HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    byte[] buf = new byte[12];
                    assertThat(s.getInputStream().read(buf)).isPositive();
                    assertThat(new String(buf, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 404");
                }
                try (Socket fourth = new Socket("127.0.0.1", capped.publicPort())) {
                    fourth.setSoTimeout((int) CLOSE_BOUND_MILLIS);
                    int first;
                    try {
                        first = fourth.getInputStream().read();
                    } catch (SocketTimeoutException e) {
                        first = -2; // still open after the bound: no cap
                    } catch (IOException e) {
                        first = -1; // reset: closed
                    }
                    assertThat(first).as("the fourth connection is closed without a byte").isEqualTo(-1);
                }
                held.remove(0).close();
                long deadline = System.nanoTime() + CLOSE_BOUND_MILLIS * 1_000_000;
                String answer = "";
                while (!answer.startsWith("HTTP/1.1 404") && System.nanoTime() < deadline) {
                    answer = rawResponse(capped.publicPort(), "GET /jwks/none.json HTTP/1.1\r\nHost: x\r\n\r\n");
                    Thread.sleep(50);
                }
                assertThat(answer).as("a connection freed is available again").startsWith("HTTP/1.1 404");
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @Test
    @DisplayName("over ingest.rateLimitPerSecond a request is 429 problem details with Retry-After, stores nothing, and is counted")
    void ingestRateLimit() {
        JsonArray full = new JsonArray();
        JsonArray next = new JsonArray();
        for (int i = 0; i < 1000; i++) {
            full.add(Fixtures.checkIn("rl-a-" + i, "slow", "dev-rl-" + i, "2026-11-29T07:00:00Z"));
            next.add(Fixtures.checkIn("rl-b-" + i, "slow", "dev-rl-" + i, "2026-11-29T07:00:00Z"));
        }
        // 1 event/s, the bucket holds one full batch: the first batch passes, the second needs ~1000 s of refill
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", full))
                .statusCode()).isEqualTo(202);
        HttpResponse<Buffer> limited = http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                new JsonObject().put("events", next));
        assertThat(limited.statusCode()).isEqualTo(429);
        HostileOracle.assertProblem(limited, "429");
        assertThat(Long.parseLong(limited.getHeader("Retry-After"))).isBetween(900L, 1000L);
        assertThat(limited.bodyAsJsonObject().getString("detail")).contains("ingest.rateLimitPerSecond");
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM device_event WHERE event_id LIKE 'rl-b-%'"))
                .isZero();
        assertThat(http.get(gw.managementPort(), "/metrics", null).bodyAsString())
                .containsPattern("rlg_ingest_rejected_total\\{reason=\"rate_limited\"} [1-9]");
        // an invalid request is judged before the limit: 400, not 429, and costs no tokens
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("eventId", ""))
                .statusCode()).isEqualTo(400);
    }
}
