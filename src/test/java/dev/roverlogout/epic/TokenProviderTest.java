package dev.roverlogout.epic;

import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
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
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Tokens from the project's Epic simulator over real HTTP: the simulator fetches the gateway's JWKS URL and
 * verifies every client assertion the way Epic does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenProviderTest {
    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;
    private TokenProvider tokens;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
        sim = new SimulatedEpic(gw, http, new JsonArray()
                .add(SimulatedEpic.instance(gw, "ES", "client-tok-es", "tok-es"))
                .add(SimulatedEpic.instance(gw, "RS", "client-tok-rs", "tok-rs"))
                .add(SimulatedEpic.instance(gw, "NEW", "client-tok-new", "tok-new").put("keySynced", false)));
        create("tok-es", "ES", "ES384");
        create("tok-rs", "RS", "RS384");
        create("tok-new", "NEW", "ES384");
        tokens = sim.tokenProvider(new GatewayMetrics());
    }

    private void create(String id, String instance, String alg) {
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(id)
                .put("interconnectUrl", sim.url()).put("instance", instance).put("allowInsecure", true)
                .put("signingAlgorithm", alg)).statusCode()).isEqualTo(201);
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

    private JsonObject simStats(String instance) {
        return sim.stats(instance);
    }

    @Test
    @DisplayName("ES384 and RS384 assertions are accepted by a verifier that checks signature and claims the way Epic does")
    void bothAlgorithms() {
        assertThat(TestGateway.join(tokens.token(env("tok-es")))).isNotBlank();
        assertThat(TestGateway.join(tokens.token(env("tok-rs")))).isNotBlank();
        assertThat(simStats("ES").getJsonObject("tokenFailures")).isEmpty();
        assertThat(simStats("RS").getJsonObject("tokenFailures")).isEmpty();
    }

    @Test
    @DisplayName("100 calls reuse one token, and 100 concurrent first calls share one token request")
    void cachingAndSingleFlight() {
        Environment rs = env("tok-rs");
        tokens.invalidate("tok-rs", TestGateway.join(tokens.token(rs)));
        long before = simStats("RS").getLong("tokenRequests");
        List<Future<String>> concurrent = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            concurrent.add(tokens.token(rs));
        }
        TestGateway.join(Future.all(concurrent));
        for (int i = 0; i < 100; i++) {
            TestGateway.join(tokens.token(rs));
        }
        assertThat(simStats("RS").getLong("tokenRequests") - before).isEqualTo(1);
        assertThat(concurrent.stream().map(Future::result).distinct()).hasSize(1);
    }

    @Test
    @DisplayName("after a 401 the caller drops the token and the next call fetches a fresh one")
    void invalidateAfter401() {
        Environment es = env("tok-es");
        String first = TestGateway.join(tokens.token(es));
        tokens.invalidate("tok-es", first);
        String second = TestGateway.join(tokens.token(es));
        assertThat(second).isNotEqualTo(first);
        tokens.invalidate("tok-es", "some-older-token");
        assertThat(TestGateway.join(tokens.token(es))).isEqualTo(second);
    }

    @Test
    @DisplayName("a key Epic has not synced yet fails with Epic's invalid_client text, and the token is never in the message")
    void notSynced() {
        Throwable failure = TestGateway.join(tokens.token(env("tok-new")).map(t -> (Throwable) null)
                .recover(Future::succeededFuture));
        assertThat(failure).isInstanceOf(TokenProvider.TokenException.class);
        assertThat(failure.getMessage()).contains("400").contains("invalid_client").doesNotContain("eyJ");
        assertThat(simStats("NEW").getJsonObject("tokenFailures").getLong("not_synced")).isEqualTo(1);
        sim.configure("NEW", new JsonObject().put("keySynced", true));
        assertThat(TestGateway.join(tokens.token(env("tok-new")))).isNotBlank();
    }
}
