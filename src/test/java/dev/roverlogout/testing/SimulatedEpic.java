package dev.roverlogout.testing;

import java.nio.file.Path;
import java.util.Optional;

import dev.roverlogout.epic.MasterKey;
import dev.roverlogout.epic.TokenProvider;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.sim.EpicSimulator;
import dev.roverlogout.store.Database;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentStore;
import dev.roverlogout.store.SigningKeyStore;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.sqlclient.Pool;

/**
 * The project's Epic simulator on its own Vert.x, next to a {@link TestGateway}, plus the gateway-side parts the
 * Epic tests drive directly (token provider, environment store) on the gateway's database.
 */
public final class SimulatedEpic implements AutoCloseable {
    private final Vertx vertx = Vertx.vertx();
    private final TestGateway gw;
    private final Http http;
    private final EpicSimulator sim;
    private final Pool pool;

    public SimulatedEpic(TestGateway gw, Http http, JsonArray instances) {
        this.gw = gw;
        this.http = http;
        this.sim = new EpicSimulator("127.0.0.1", 0, instances);
        TestGateway.join(vertx.deployVerticle(sim));
        this.pool = Database.pool(vertx, gw.databaseUrl(), 2, 5000);
    }

    /** An instance registered with the gateway's JWKS URL of {@code environmentId}. */
    public static JsonObject instance(TestGateway gw, String name, String clientId, String environmentId) {
        return new JsonObject().put("name", name).put("clientId", clientId)
                .put("jwksUrl", "http://127.0.0.1:" + gw.publicPort() + "/jwks/" + environmentId + ".json");
    }

    public String url() {
        return "http://127.0.0.1:" + sim.actualPort();
    }

    public int port() {
        return sim.actualPort();
    }

    public Vertx vertx() {
        return vertx;
    }

    public TokenProvider tokenProvider(GatewayMetrics metrics) {
        return new TokenProvider(vertx, WebClient.create(vertx), new SigningKeyStore(pool),
                MasterKey.resolve(Optional.of(TestGateway.MASTER_KEY), Path.of("unused"), true), metrics);
    }

    public Environment environment(String id) {
        return TestGateway.join(new EnvironmentStore(pool).get(id)).orElseThrow();
    }

    public JsonObject stats(String instance) {
        return http.get(sim.actualPort(), "/_sim/stats", null).bodyAsJsonObject().getJsonObject("instances")
                .getJsonObject(instance);
    }

    public void configure(String instance, JsonObject settings) {
        http.send(HttpMethod.PATCH, sim.actualPort(), "/_sim/instances/" + instance, null, settings);
    }

    @Override
    public void close() {
        TestGateway.join(vertx.close());
    }
}
