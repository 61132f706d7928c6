package dev.roverlogout.epic;

import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.sim.EpicSimulator;
import dev.roverlogout.store.Database;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentStore;
import dev.roverlogout.store.SigningKeyStore;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.sqlclient.Pool;

/**
 * Tokens from the project's Epic simulator over real HTTP: the simulator fetches the gateway's JWKS URL and
 * verifies every client assertion the way Epic does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenProviderTest {
    private TestGateway gw;
    private Http http;
    private Vertx vertx;
    private EpicSimulator sim;
    private Pool pool;
    private TokenProvider tokens;
    private EnvironmentStore environments;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_PUBLICBASEURL", "http://127.0.0.1:0"));
        http = new Http();
        vertx = Vertx.vertx();
        String jwks = "http://127.0.0.1:" + gw.publicPort() + "/jwks/";
        sim = new EpicSimulator("127.0.0.1", 0, new JsonArray()
                .add(new JsonObject().put("name", "ES").put("clientId", "client-tok-es").put("jwksUrl", jwks + "tok-es.json"))
                .add(new JsonObject().put("name", "RS").put("clientId", "client-tok-rs").put("jwksUrl", jwks + "tok-rs.json"))
                .add(new JsonObject().put("name", "NEW").put("clientId", "client-tok-new").put("jwksUrl", jwks + "tok-new.json")
                        .put("keySynced", false)));
        TestGateway.join(vertx.deployVerticle(sim));
        String epic = "http://127.0.0.1:" + sim.actualPort();
        create("tok-es", epic, "ES", "ES384");
        create("tok-rs", epic, "RS", "RS384");
        create("tok-new", epic, "NEW", "ES384");
        pool = Database.pool(vertx, gw.databaseUrl(), 2, 5000);
        tokens = new TokenProvider(vertx, WebClient.create(vertx), new SigningKeyStore(pool),
                MasterKey.resolve(Optional.of(TestGateway.MASTER_KEY), java.nio.file.Path.of("unused"), true), new GatewayMetrics());
        environments = new EnvironmentStore(pool);
    }

    private void create(String id, String epic, String instance, String alg) {
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(id)
                .put("interconnectUrl", epic).put("instance", instance).put("allowInsecure", true)
                .put("signingAlgorithm", alg)).statusCode()).isEqualTo(201);
    }

    @AfterAll
    void stop() {
        TestGateway.join(vertx.close());
        http.close();
        gw.close();
    }

    private Environment env(String id) {
        return TestGateway.join(environments.get(id)).orElseThrow();
    }

    private JsonObject simStats(String instance) {
        return http.get(sim.actualPort(), "/_sim/stats", null).bodyAsJsonObject().getJsonObject("instances").getJsonObject(instance);
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
        http.send(io.vertx.core.http.HttpMethod.PATCH, sim.actualPort(), "/_sim/instances/NEW", null,
                new JsonObject().put("keySynced", true));
        assertThat(TestGateway.join(tokens.token(env("tok-new")))).isNotBlank();
    }
}
