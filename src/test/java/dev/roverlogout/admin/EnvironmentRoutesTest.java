package dev.roverlogout.admin;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static dev.roverlogout.testing.TestPostgres.count;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/** The environment admin routes on the management port (contract §5). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EnvironmentRoutesTest {
    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_PUBLICBASEURL", "https://rlg.example.org"));
        http = new Http();
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
    }

    private HttpResponse<Buffer> admin(HttpMethod method, String path, JsonObject body) {
        return http.send(method, gw.managementPort(), path, TestGateway.ADMIN, body);
    }

    @Test
    @DisplayName("a created environment is 201, PENDING, with defaults and the JWKS URL to register; the same id again is 409")
    void create() {
        HttpResponse<Buffer> r = admin(HttpMethod.POST, "/admin/environments", environment("create-1").put("burst", null));
        assertThat(r.statusCode()).isEqualTo(201);
        JsonObject e = r.bodyAsJsonObject();
        assertThat(e.getString("status")).isEqualTo("PENDING");
        assertThat(e.getString("jwksUrl")).isEqualTo("https://rlg.example.org/jwks/create-1.json");
        assertThat(e.getString("signingAlgorithm")).isEqualTo("ES384");
        assertThat(e.getInteger("burst")).isEqualTo(20);
        assertThat(e.getString("disassociatePath")).isEqualTo(EnvironmentValidator.DEFAULT_DISASSOCIATE_PATH);
        assertThat(admin(HttpMethod.POST, "/admin/environments", environment("create-1")).statusCode()).isEqualTo(409);
        JsonObject fetched = admin(HttpMethod.GET, "/admin/environments/create-1", null).bodyAsJsonObject();
        assertThat(fetched.getString("clientId")).isEqualTo("client-create-1");
        assertThat(fetched.getJsonArray("statusHistory").getJsonObject(0).getString("to")).isEqualTo("PENDING");
        assertThat(admin(HttpMethod.GET, "/admin/environments", null).bodyAsJsonObject().getJsonArray("environments")
                .stream().map(o -> ((JsonObject) o).getString("id"))).contains("create-1");
    }

    @Test
    @DisplayName("an invalid environment is 400 with an error per field, and nothing is created")
    void invalid() {
        JsonObject bad = environment("Bad_Id").put("interconnectUrl", "http://epic.example.org")
                .put("rateLimitPerSecond", -1).put("signingAlgorithm", "HS256").put("colour", "blue");
        HttpResponse<Buffer> r = admin(HttpMethod.POST, "/admin/environments", bad);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.bodyAsJsonObject().getJsonArray("errors").stream().map(o -> ((JsonObject) o).getString("field")))
                .contains("id", "interconnectUrl", "rateLimitPerSecond", "signingAlgorithm", "colour");
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM environment WHERE id = 'Bad_Id'")).isZero();
        // plain http is allowed only when the environment says allowInsecure
        assertThat(admin(HttpMethod.POST, "/admin/environments", environment("insecure-1")
                .put("interconnectUrl", "http://127.0.0.1:9999").put("allowInsecure", true)).statusCode()).isEqualTo(201);
    }

    @Test
    @DisplayName("PATCH changes only the fields it names and validates the result")
    void patch() {
        admin(HttpMethod.POST, "/admin/environments", environment("patch-1"));
        HttpResponse<Buffer> r = admin(HttpMethod.PATCH, "/admin/environments/patch-1",
                new JsonObject().put("rateLimitPerSecond", 50).put("burst", 10));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.bodyAsJsonObject().getDouble("rateLimitPerSecond")).isEqualTo(50.0);
        assertThat(r.bodyAsJsonObject().getString("clientId")).isEqualTo("client-patch-1");
        assertThat(admin(HttpMethod.PATCH, "/admin/environments/patch-1",
                new JsonObject().put("interconnectUrl", "http://plain.example.org")).statusCode()).isEqualTo(400);
        assertThat(admin(HttpMethod.PATCH, "/admin/environments/patch-1",
                new JsonObject().put("status", "READY")).statusCode()).isEqualTo(400);
        assertThat(admin(HttpMethod.PATCH, "/admin/environments/nope", new JsonObject().put("burst", 3)).statusCode())
                .isEqualTo(404);
    }

    @Test
    @DisplayName("status routes move PENDING→READY→PAUSED→READY, refuse impossible moves with 409, and record each change")
    void statusChanges() {
        admin(HttpMethod.POST, "/admin/environments", environment("status-1"));
        assertThat(admin(HttpMethod.POST, "/admin/environments/status-1/pause", null).statusCode()).isEqualTo(409);
        assertThat(admin(HttpMethod.POST, "/admin/environments/status-1/activate", null).bodyAsJsonObject()
                .getString("status")).isEqualTo("READY");
        assertThat(admin(HttpMethod.POST, "/admin/environments/status-1/pause",
                new JsonObject().put("reason", "Epic downtime 02:00")).bodyAsJsonObject().getString("status")).isEqualTo("PAUSED");
        assertThat(admin(HttpMethod.POST, "/admin/environments/status-1/resume", null).bodyAsJsonObject()
                .getString("status")).isEqualTo("READY");
        JsonObject e = admin(HttpMethod.GET, "/admin/environments/status-1", null).bodyAsJsonObject();
        assertThat(e.getJsonArray("statusHistory")).hasSize(4);
        assertThat(e.getJsonArray("statusHistory").getJsonObject(1).getString("reason")).isEqualTo("Epic downtime 02:00");
        assertThat(admin(HttpMethod.POST, "/admin/environments/nope/activate", null).statusCode()).isEqualTo(404);
    }

    @Test
    @DisplayName("deleting an environment with queued jobs needs ?force=true")
    void delete() {
        Fixtures.environment(http, gw, "delete-1", "READY");
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                checkIn("del-1", "delete-1", "dev-del", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        HttpResponse<Buffer> refused = admin(HttpMethod.DELETE, "/admin/environments/delete-1", null);
        assertThat(refused.statusCode()).isEqualTo(409);
        assertThat(refused.bodyAsJsonObject().getLong("openJobs")).isEqualTo(1);
        assertThat(admin(HttpMethod.DELETE, "/admin/environments/delete-1?force=true", null).statusCode()).isEqualTo(204);
        assertThat(admin(HttpMethod.GET, "/admin/environments/delete-1", null).statusCode()).isEqualTo(404);
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                checkIn("del-2", "delete-1", "dev-del", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(422);
        admin(HttpMethod.POST, "/admin/environments", environment("delete-2"));
        assertThat(admin(HttpMethod.DELETE, "/admin/environments/delete-2", null).statusCode()).isEqualTo(204);
    }

    @Test
    @DisplayName("admin routes need the admin role: no token 401, the ingest token 403")
    void adminAuth() {
        assertThat(http.get(gw.managementPort(), "/admin/environments", null).statusCode()).isEqualTo(401);
        assertThat(http.get(gw.managementPort(), "/admin/environments", "not-a-token-at-all").statusCode()).isEqualTo(401);
        assertThat(http.get(gw.managementPort(), "/admin/environments", TestGateway.INGEST).statusCode()).isEqualTo(403);
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.INGEST, environment("auth-1"))
                .statusCode()).isEqualTo(403);
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM environment WHERE id = 'auth-1'")).isZero();
        assertThat(http.get(gw.managementPort(), "/health/live", null).statusCode()).isEqualTo(200);
        assertThat(http.get(gw.managementPort(), "/health/ready", null).statusCode()).isEqualTo(200);
    }
}
