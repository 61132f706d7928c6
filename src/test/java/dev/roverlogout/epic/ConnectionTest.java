package dev.roverlogout.epic;

import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.sim.EpicSimulator;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;

/** Test connection and automatic PENDING → READY, against the project's simulator over real HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConnectionTest {
    private TestGateway gw;
    private Http http;
    private Vertx vertx;
    private EpicSimulator sim;
    private HttpServer selfSigned;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_EPIC_READINESSPROBEINTERVAL", "1s"));
        http = new Http();
        vertx = Vertx.vertx();
        String jwks = "http://127.0.0.1:" + gw.publicPort() + "/jwks/";
        sim = new EpicSimulator("127.0.0.1", 0, new JsonArray()
                .add(new JsonObject().put("name", "OK").put("clientId", "client-tc-ok").put("jwksUrl", jwks + "tc-ok.json"))
                .add(new JsonObject().put("name", "NEW").put("clientId", "client-tc-new").put("jwksUrl", jwks + "tc-new.json")
                        .put("keySynced", false))
                .add(new JsonObject().put("name", "PROMO").put("clientId", "client-tc-promote")
                        .put("jwksUrl", jwks + "tc-promote.json").put("keySynced", false)));
        TestGateway.join(vertx.deployVerticle(sim));
        SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
        selfSigned = TestGateway.join(vertx.createHttpServer(new HttpServerOptions().setSsl(true)
                .setKeyCertOptions(cert.keyCertOptions())).requestHandler(r -> r.response().end()).listen(0, "127.0.0.1"));
    }

    @AfterAll
    void stop() {
        TestGateway.join(vertx.close());
        http.close();
        gw.close();
    }

    private void create(String id, JsonObject overrides) {
        JsonObject body = environment(id).put("allowInsecure", true);
        overrides.forEach(e -> body.put(e.getKey(), e.getValue()));
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, body).statusCode()).isEqualTo(201);
    }

    private JsonObject test(String id) {
        var r = http.post(gw.managementPort(), "/admin/environments/" + id + "/test-connection", TestGateway.ADMIN, null);
        assertThat(r.statusCode()).isEqualTo(200);
        return r.bodyAsJsonObject();
    }

    private static List<String> statuses(JsonObject result) {
        return result.getJsonArray("steps").stream().map(s -> ((JsonObject) s).getString("status")).toList();
    }

    private static String message(JsonObject result, String step) {
        return result.getJsonArray("steps").stream().map(s -> (JsonObject) s)
                .filter(s -> s.getString("step").equals(step)).findFirst().orElseThrow().getString("message");
    }

    @Test
    @DisplayName("a reachable Epic that accepts our key: dns ok, tls skipped (plain http), http ok, token ok")
    void success() {
        create("tc-ok", new JsonObject().put("interconnectUrl", "http://127.0.0.1:" + sim.actualPort()).put("instance", "OK"));
        JsonObject r = test("tc-ok");
        assertThat(statuses(r)).containsExactly("ok", "skipped", "ok", "ok");
        assertThat(r.getBoolean("ok")).isTrue();
    }

    @Test
    @DisplayName("invalid_client says the key may not be synced (up to 12 hours) or the client ID is wrong, with the JWKS URL")
    void notSynced() {
        create("tc-new", new JsonObject().put("interconnectUrl", "http://127.0.0.1:" + sim.actualPort()).put("instance", "NEW"));
        JsonObject r = test("tc-new");
        assertThat(r.getBoolean("ok")).isFalse();
        assertThat(message(r, "token")).contains("invalid_client").contains("12 hours").contains("/jwks/tc-new.json");
    }

    @Test
    @DisplayName("an unreachable host fails at http and skips token; an unknown name fails at dns")
    void unreachable() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        create("tc-down", new JsonObject().put("interconnectUrl", "http://127.0.0.1:" + closed));
        assertThat(statuses(test("tc-down"))).containsExactly("ok", "skipped", "failed", "skipped");
        create("tc-dns", new JsonObject().put("interconnectUrl", "https://no-such-host.invalid"));
        JsonObject dns = test("tc-dns");
        assertThat(statuses(dns)).containsExactly("failed", "skipped", "skipped", "skipped");
        assertThat(message(dns, "dns")).contains("no-such-host.invalid");
    }

    @Test
    @DisplayName("a self-signed server certificate fails the tls step: certificates are always verified")
    void selfSignedTls() {
        create("tc-tls", new JsonObject().put("interconnectUrl", "https://localhost:" + selfSigned.actualPort())
                .put("allowInsecure", false));
        JsonObject r = test("tc-tls");
        assertThat(statuses(r).subList(0, 2)).containsExactly("ok", "failed");
        assertThat(message(r, "tls")).contains("TLS");
    }

    @Test
    @DisplayName("a PENDING environment becomes READY by itself once Epic accepts its key, and the change is recorded")
    void autoPromotion() throws Exception {
        create("tc-promote", new JsonObject().put("interconnectUrl", "http://127.0.0.1:" + sim.actualPort())
                .put("instance", "PROMO"));
        Thread.sleep(2_500); // two probe rounds while Epic still refuses the key
        assertThat(status("tc-promote")).isEqualTo("PENDING");
        http.send(HttpMethod.PATCH, sim.actualPort(), "/_sim/instances/PROMO", null, new JsonObject().put("keySynced", true));
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (!status("tc-promote").equals("READY") && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        JsonObject e = http.get(gw.managementPort(), "/admin/environments/tc-promote", TestGateway.ADMIN).bodyAsJsonObject();
        assertThat(e.getString("status")).isEqualTo("READY");
        JsonObject change = e.getJsonArray("statusHistory").getJsonObject(0);
        assertThat(change.getString("actor")).isEqualTo("readiness-prober");
        assertThat(change.getString("from")).isEqualTo("PENDING");
    }

    private String status(String id) {
        return http.get(gw.managementPort(), "/admin/environments/" + id, TestGateway.ADMIN).bodyAsJsonObject().getString("status");
    }
}
