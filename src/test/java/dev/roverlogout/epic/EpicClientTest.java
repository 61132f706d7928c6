package dev.roverlogout.epic;

import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Environment;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** DisassociateMobileDevice against the project's simulator over real HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EpicClientTest {
    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;
    private EpicClient epic;
    private TokenProvider tokens;
    private GatewayMetrics metrics;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_KEYS_ROTATIONGRACE", "1s"));
        http = new Http();
        String[] names = {"ok", "auth", "limit", "down", "short", "rot", "slow", "pem"};
        JsonArray instances = new JsonArray();
        for (String name : names) {
            JsonObject instance = SimulatedEpic.instance(gw, name, "client-ec-" + name, "ec-" + name);
            instances.add(name.equals("pem") ? instance.putNull("jwksUrl") : instance); // pem: registered by upload
        }
        sim = new SimulatedEpic(gw, http, instances);
        for (String name : names) {
            assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("ec-" + name)
                    .put("interconnectUrl", sim.url()).put("instance", name)
                    .put("allowInsecure", true).put("disassociatePath", "/api/epic/2023/Test/DisassociateMobileDevice"))
                    .statusCode()).isEqualTo(201);
        }
        metrics = new GatewayMetrics();
        tokens = sim.tokenProvider(metrics);
        epic = new EpicClient(sim.vertx(), tokens, metrics, Duration.ofMillis(700));
    }

    @AfterAll
    void stop() {
        sim.close();
        http.close();
        gw.close();
    }

    private Environment env(String id) {
        return sim.environment(id);
    }

    private JsonObject stats(String instance) {
        return sim.stats(instance);
    }

    private void sim(String instance, JsonObject settings) {
        sim.configure(instance, settings);
    }

    @Test
    @DisplayName("a disassociation reaches Epic once with bearer token, Epic-Client-ID and InstallID, and is done; metrics record it")
    void done() {
        EpicOutcome o = TestGateway.join(epic.disassociate(env("ec-ok"), "device-1", "req-1"));
        assertThat(o.kind()).isEqualTo(EpicOutcome.Kind.DONE);
        assertThat(stats("ok").getJsonObject("callsPerDevice").getLong("device-1")).isEqualTo(1);
        assertThat(metrics.scrape()).contains("rlg_epic_request_duration_seconds_count{endpoint=\"disassociate\",environment=\"ec-ok\",status=\"200\"} 1")
                .contains("rlg_token_requests_total{environment=\"ec-ok\",result=\"ok\"} 1.0");
    }

    @Test
    @DisplayName("a 401 from the API drops the token and retries once with a fresh one")
    void retryAfter401() {
        TestGateway.join(epic.disassociate(env("ec-auth"), "device-a", "req-a"));
        http.post(sim.port(), "/_sim/instances/auth/revoke-tokens", null, null);
        EpicOutcome o = TestGateway.join(epic.disassociate(env("ec-auth"), "device-b", "req-b"));
        assertThat(o.kind()).isEqualTo(EpicOutcome.Kind.DONE);
        assertThat(stats("auth").getLong("unauthorized")).isEqualTo(1);
        assertThat(stats("auth").getLong("tokensIssued")).isEqualTo(2);
    }

    @Test
    @DisplayName("429 with Retry-After and an outage's 503 are retryable outcomes carrying Epic's text")
    void retryable() {
        sim("limit", new JsonObject().put("rateLimitPerSecond", 1));
        TestGateway.join(epic.disassociate(env("ec-limit"), "device-1", "r1"));
        EpicOutcome limited = TestGateway.join(epic.disassociate(env("ec-limit"), "device-2", "r2"));
        assertThat(limited.kind()).isEqualTo(EpicOutcome.Kind.RETRY);
        assertThat(limited.status()).isEqualTo(429);
        assertThat(limited.retryAfter()).contains(Duration.ofSeconds(1));
        sim("down", new JsonObject().put("outage", true));
        EpicOutcome down = TestGateway.join(epic.disassociate(env("ec-down"), "device-1", "r3"));
        assertThat(down.kind()).isEqualTo(EpicOutcome.Kind.RETRY);
        assertThat(down.error()).contains("503").contains("Service Unavailable");
    }

    @Test
    @DisplayName("a token is refreshed shortly before it expires")
    void expiryRefresh() throws Exception {
        sim("short", new JsonObject().put("tokenLifetimeSeconds", 2));
        TestGateway.join(epic.disassociate(env("ec-short"), "device-1", "r1"));
        Thread.sleep(1_500); // past half of the 2 s lifetime: refreshed before use
        TestGateway.join(epic.disassociate(env("ec-short"), "device-2", "r2"));
        assertThat(stats("short").getLong("tokensIssued")).isEqualTo(2);
        assertThat(stats("short").getLong("unauthorized")).isZero();
    }

    @Test
    @DisplayName("a key rotation keeps tokens flowing: no failed token request across the switch to the new key")
    void rotationWithoutFailures() throws Exception {
        TestGateway.join(epic.disassociate(env("ec-rot"), "device-0", "r0"));
        assertThat(http.post(gw.managementPort(), "/admin/environments/ec-rot/keys/rotate", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(201);
        for (int i = 1; i <= 6; i++) {
            tokens.invalidate("ec-rot", TestGateway.join(tokens.token(env("ec-rot"))));
            assertThat(TestGateway.join(epic.disassociate(env("ec-rot"), "device-" + i, "r" + i)).kind())
                    .isEqualTo(EpicOutcome.Kind.DONE);
            Thread.sleep(400); // spans the 1 s rotation grace
        }
        assertThat(stats("rot").getJsonObject("tokenFailures")).isEmpty();
        JsonArray keys = http.get(gw.managementPort(), "/admin/environments/ec-rot", TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("keys");
        assertThat(keys.getJsonObject(1).getBoolean("current")).isTrue();
    }

    @Test
    @DisplayName("a key registered by upload (the public-key.pem certificate) is accepted like a JWK Set URL")
    void uploadedCertificate() {
        String pem = http.get(gw.managementPort(), "/admin/environments/ec-pem/public-key.pem", TestGateway.ADMIN).bodyAsString();
        sim("pem", new JsonObject().put("publicKeyPem", pem));
        assertThat(TestGateway.join(epic.disassociate(env("ec-pem"), "device-1", "r1")).kind()).isEqualTo(EpicOutcome.Kind.DONE);
    }

    @Test
    @DisplayName("a hung call times out as a retryable outcome; an outage window answers 503 and then passes")
    void hangsAndOutageWindows() throws Exception {
        sim("slow", new JsonObject().put("hangRate", 1.0));
        EpicOutcome hung = TestGateway.join(epic.disassociate(env("ec-slow"), "device-1", "r1"));
        assertThat(hung.kind()).isEqualTo(EpicOutcome.Kind.RETRY);
        assertThat(hung.status()).isZero();
        assertThat(stats("slow").getLong("hung")).isEqualTo(1);
        sim("slow", new JsonObject().put("hangRate", 0.0).put("outageSeconds", 1));
        assertThat(TestGateway.join(epic.disassociate(env("ec-slow"), "device-2", "r2")).status()).isEqualTo(503);
        Thread.sleep(1_200);
        assertThat(TestGateway.join(epic.disassociate(env("ec-slow"), "device-3", "r3")).kind()).isEqualTo(EpicOutcome.Kind.DONE);
    }
}
