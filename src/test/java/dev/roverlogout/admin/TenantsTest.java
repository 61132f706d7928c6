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
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * Tenants and their ingest credentials: each hospital's lockers reach only their own Epic environments. Two replicas on
 * one database, real HTTP; the secret of a credential is seen once, at its creation, and never again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TenantsTest {
    private String url;
    private TestGateway gw;
    private TestGateway second;
    private Http http;
    private final Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

    @BeforeAll
    void start() {
        root.setLevel(Level.DEBUG); // every line any part of the gateway may write, also the ones at DEBUG
        logs.start();
        root.addAppender(logs);
        url = TestPostgres.newDatabase();
        gw = TestGateway.start(url, Map.of());
        second = TestGateway.start(url, Map.of());
        http = new Http();
        for (String tenant : new String[] {"hosp-a", "hosp-b"}) {
            assertThat(post("/admin/tenants", new JsonObject().put("id", tenant).put("displayName", "Hospital " + tenant))
                    .statusCode()).isEqualTo(201);
        }
        for (String[] env : new String[][] {{"a-prd", "hosp-a"}, {"a-tst", "hosp-a"}, {"b-prd", "hosp-b"}, {"d-prd", null}}) {
            JsonObject body = environment(env[0]);
            if (env[1] != null) {
                body.put("tenantId", env[1]);
            }
            assertThat(post("/admin/environments", body).statusCode()).isEqualTo(201);
            assertThat(post("/admin/environments/" + env[0] + "/activate", null).statusCode()).isEqualTo(200);
        }
    }

    @AfterAll
    void stop() {
        http.close();
        second.close();
        gw.close();
        root.detachAppender(logs);
        root.setLevel(Level.INFO);
    }

    private HttpResponse<Buffer> post(String path, JsonObject body) {
        return http.post(gw.managementPort(), path, TestGateway.ADMIN, body);
    }

    private HttpResponse<Buffer> checkIns(TestGateway to, String token, JsonObject... events) {
        return http.post(to.publicPort(), "/v1/checkins", token, new JsonObject().put("events", new JsonArray(java.util.List.of((Object[]) events))));
    }

    @Test
    @DisplayName("tenants: create, read, rename, list; ids and names validated; an environment keeps its tenant; a tenant "
            + "with environments (and the default tenant) cannot be deleted, an empty one can")
    void tenants() {
        assertThat(post("/admin/tenants", new JsonObject().put("id", "hosp-a")).statusCode()).isEqualTo(409);
        HttpResponse<Buffer> bad = post("/admin/tenants", new JsonObject().put("id", "Hosp A").put("colour", "red"));
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.bodyAsJsonObject().getJsonArray("errors").encode()).contains("\"id\"", "\"colour\"");
        JsonObject a = http.get(gw.managementPort(), "/admin/tenants/hosp-a", TestGateway.ADMIN).bodyAsJsonObject();
        assertThat(a.getString("displayName")).isEqualTo("Hospital hosp-a");
        assertThat(a.getLong("environments")).isEqualTo(2);
        assertThat(http.send(HttpMethod.PATCH, gw.managementPort(), "/admin/tenants/hosp-a", TestGateway.ADMIN,
                new JsonObject().put("displayName", "Example Health")).bodyAsJsonObject().getString("displayName"))
                .isEqualTo("Example Health");
        assertThat(http.get(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN).bodyAsJsonObject().getJsonArray("tenants")
                .stream().map(t -> ((JsonObject) t).getString("id")).toList()).contains("default", "hosp-a", "hosp-b");
        assertThat(http.get(gw.managementPort(), "/admin/tenants/nobody", TestGateway.ADMIN).statusCode()).isEqualTo(404);

        // environments carry their tenant; existing ones and ones created without a tenant are in "default"
        JsonObject env = http.get(gw.managementPort(), "/admin/environments/a-prd", TestGateway.ADMIN).bodyAsJsonObject();
        assertThat(env.getString("tenantId")).isEqualTo("hosp-a");
        assertThat(http.get(gw.managementPort(), "/admin/environments/d-prd", TestGateway.ADMIN).bodyAsJsonObject()
                .getString("tenantId")).isEqualTo("default");
        assertThat(http.get(gw.managementPort(), "/admin/environments?tenantId=hosp-b", TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("environments").stream().map(e -> ((JsonObject) e).getString("id")).toList()).containsExactly("b-prd");
        HttpResponse<Buffer> move = http.send(HttpMethod.PATCH, gw.managementPort(), "/admin/environments/a-prd", TestGateway.ADMIN,
                new JsonObject().put("tenantId", "hosp-b"));
        assertThat(move.statusCode()).isEqualTo(400);
        assertThat(post("/admin/environments", environment("x-prd").put("tenantId", "nobody")).statusCode()).isEqualTo(400);
        assertThat(count(url, "SELECT count(*) FROM environment WHERE id = 'x-prd'")).isZero();

        assertThat(http.send(HttpMethod.DELETE, gw.managementPort(), "/admin/tenants/hosp-b", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(409);
        assertThat(http.send(HttpMethod.DELETE, gw.managementPort(), "/admin/tenants/default", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(409);
        assertThat(post("/admin/tenants", new JsonObject().put("id", "hosp-gone")).statusCode()).isEqualTo(201);
        assertThat(post("/admin/tenants/hosp-gone/credentials", new JsonObject().put("name", "lockers")).statusCode()).isEqualTo(201);
        assertThat(http.send(HttpMethod.DELETE, gw.managementPort(), "/admin/tenants/hosp-gone", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(204);
        assertThat(count(url, "SELECT count(*) FROM ingest_credential WHERE tenant_id = 'hosp-gone'")).isZero();
    }

    @Test
    @DisplayName("a credential posts only to its tenant's environments: one event of another tenant's makes the whole "
            + "request 403 with the offending events, and nothing of it is stored; an explicit scope is narrower still")
    void credentialScope() {
        JsonObject created = post("/admin/tenants/hosp-a/credentials", new JsonObject().put("name", "lockers west"))
                .bodyAsJsonObject();
        String secret = created.getString("secret");
        assertThat(secret).startsWith("rlg_").hasSizeGreaterThanOrEqualTo(4 + 43); // 256 bits, base64url
        assertThat(created.getString("prefix")).isEqualTo(secret.substring(0, 12));
        assertThat(created.getValue("environments")).isNull(); // all of the tenant's

        assertThat(checkIns(gw, secret, checkIn("s-1", "a-prd", "dev-1", "2026-11-29T07:00:00Z"),
                checkIn("s-2", "a-tst", "dev-2", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        HttpResponse<Buffer> refused = checkIns(gw, secret, checkIn("s-3", "a-prd", "dev-3", "2026-11-29T07:00:00Z"),
                checkIn("s-4", "b-prd", "dev-4", "2026-11-29T07:00:00Z"), checkIn("s-5", "d-prd", "dev-5", "2026-11-29T07:00:00Z"));
        assertThat(refused.statusCode()).isEqualTo(403);
        JsonArray errors = refused.bodyAsJsonObject().getJsonArray("errors");
        assertThat(errors.stream().map(e -> ((JsonObject) e).getInteger("index")).toList()).containsExactly(1, 2);
        assertThat(errors.getJsonObject(0).getString("field")).isEqualTo("environmentId");
        assertThat(count(url, "SELECT count(*) FROM device_event WHERE event_id IN ('s-3', 's-4', 's-5')")).isZero();
        assertThat(count(url, "SELECT count(*) FROM disassociation_job WHERE device_id IN ('dev-3', 'dev-4', 'dev-5')")).isZero();

        String narrow = post("/admin/tenants/hosp-a/credentials", new JsonObject().put("name", "test lockers")
                .put("environments", new JsonArray().add("a-tst"))).bodyAsJsonObject().getString("secret");
        assertThat(checkIns(gw, narrow, checkIn("n-1", "a-tst", "dev-n1", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        assertThat(checkIns(gw, narrow, checkIn("n-2", "a-prd", "dev-n2", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(403);
        HttpResponse<Buffer> foreign = post("/admin/tenants/hosp-a/credentials", new JsonObject().put("name", "x")
                .put("environments", new JsonArray().add("b-prd")));
        assertThat(foreign.statusCode()).isEqualTo(400);

        // the static auth.ingestToken is a credential of tenant default: its environments, no other tenant's
        assertThat(checkIns(gw, TestGateway.INGEST, checkIn("t-1", "d-prd", "dev-t1", "2026-11-29T07:00:00Z")).statusCode())
                .isEqualTo(202);
        assertThat(checkIns(gw, TestGateway.INGEST, checkIn("t-2", "a-prd", "dev-t2", "2026-11-29T07:00:00Z")).statusCode())
                .isEqualTo(403);
        assertThat(checkIns(gw, TestGateway.ADMIN, checkIn("t-3", "d-prd", "dev-t3", "2026-11-29T07:00:00Z")).statusCode())
                .isEqualTo(403);
    }

    @Test
    @DisplayName("a revoked credential is refused on the other replica within 2 s; the list shows prefix, scope, "
            + "lastUsedAt and revokedAt but never the secret, which no log line, response or table holds either")
    void revocationAndSecrecy() throws Exception {
        JsonObject created = post("/admin/tenants/hosp-b/credentials", new JsonObject().put("name", "lockers east")
                .put("rateLimitPerSecond", 50)).bodyAsJsonObject();
        String secret = created.getString("secret");
        String id = created.getString("id");
        Await.until(() -> checkIns(second, secret, checkIn("r-0", "b-prd", "dev-r0", "2026-11-29T07:00:00Z")).statusCode() == 202, 2);
        Await.until(() -> listed("hosp-b", id).getString("lastUsedAt") != null, 5);

        JsonObject revoked = http.send(HttpMethod.DELETE, gw.managementPort(), "/admin/tenants/hosp-b/credentials/" + id,
                TestGateway.ADMIN, null).bodyAsJsonObject();
        assertThat(revoked.getString("revokedAt")).isNotNull();
        assertThat(checkIns(gw, secret, checkIn("r-1", "b-prd", "dev-r1", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(401);
        Await.until(() -> checkIns(second, secret, checkIn("r-2", "b-prd", "dev-r2", "2026-11-29T07:00:00Z")).statusCode() == 401, 2);
        assertThat(count(url, "SELECT count(*) FROM device_event WHERE event_id IN ('r-1', 'r-2')")).isZero();

        JsonObject listed = listed("hosp-b", id);
        assertThat(listed.getString("prefix")).isEqualTo(secret.substring(0, 12));
        assertThat(listed.getInteger("rateLimitPerSecond")).isEqualTo(50);
        assertThat(listed.getString("revokedAt")).isNotNull();
        assertThat(listed.containsKey("secret")).isFalse();
        String everything = http.get(gw.managementPort(), "/admin/tenants/hosp-b/credentials", TestGateway.ADMIN).bodyAsString()
                + http.get(gw.managementPort(), "/admin/tenants/hosp-b", TestGateway.ADMIN).bodyAsString()
                + http.get(gw.managementPort(), "/metrics", null).bodyAsString();
        assertThat(everything).doesNotContain(secret).doesNotContain(secret.substring(12));
        synchronized (logs) {
            assertThat(logs.list).noneMatch(e -> e.getFormattedMessage().contains(secret.substring(12))
                    || String.valueOf(e.getKeyValuePairs()).contains(secret.substring(12)));
        }
        assertThat(count(url, "SELECT count(*) FROM ingest_credential c WHERE c::text LIKE '%' || ? || '%'",
                secret.substring(12))).isZero();
        assertThat(count(url, "SELECT count(*) FROM audit_entry a WHERE a.changes::text LIKE '%' || ? || '%'",
                secret.substring(12))).as("the audit trail holds no secret").isZero();
        assertThat(count(url, "SELECT count(*) FROM audit_entry WHERE action = 'credential.create' AND changes->'after'->>'id' = ?",
                id)).as("but it records the credential's creation").isEqualTo(1);
    }

    @Test
    @DisplayName("each credential has its own rate limit: one over its limit gets 429 while another still posts")
    void rateLimitPerCredential() {
        String slow = post("/admin/tenants/hosp-a/credentials", new JsonObject().put("name", "slow").put("rateLimitPerSecond", 1))
                .bodyAsJsonObject().getString("secret");
        String other = post("/admin/tenants/hosp-a/credentials", new JsonObject().put("name", "other"))
                .bodyAsJsonObject().getString("secret");
        JsonArray batch = new JsonArray();
        for (int i = 0; i < 1000; i++) { // the bucket always holds one full batch
            batch.add(checkIn("rl-" + i, "a-prd", "dev-rl-" + i, "2026-11-29T07:00:00Z"));
        }
        assertThat(http.post(gw.publicPort(), "/v1/checkins", slow, new JsonObject().put("events", batch)).statusCode()).isEqualTo(202);
        HttpResponse<Buffer> limited = checkIns(gw, slow, checkIn("rl-x", "a-prd", "dev-rl-x", "2026-11-29T07:00:00Z"));
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.getHeader("Retry-After")).isNotNull();
        assertThat(checkIns(gw, other, checkIn("rl-y", "a-prd", "dev-rl-y", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
    }

    private JsonObject listed(String tenant, String id) {
        return http.get(gw.managementPort(), "/admin/tenants/" + tenant + "/credentials", TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("credentials").stream().map(c -> (JsonObject) c).filter(c -> c.getString("id").equals(id))
                .findFirst().orElseThrow();
    }
}
