package dev.roverlogout.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.Idp;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.client.HttpResponse;

/**
 * Every change through the admin API leaves exactly one audit row (and one log line) naming the person, the tenant,
 * the target, the request id and what changed, never a secret; {@code GET /admin/audit} pages through them newest
 * first, filtered and tenant-scoped; retention.audit removes old ones. The mutating routes are enumerated from the
 * router, so a new one without an audit case fails here.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuditTrailTest {
    private final ListAppender<ILoggingEvent> auditLog = new ListAppender<>();
    private final Logger auditLogger = (Logger) LoggerFactory.getLogger("dev.roverlogout.audit");
    private Idp idp;
    private TestGateway gw;
    private Http http;
    private String ada;
    private String credentialSecret;

    @BeforeAll
    void start() {
        auditLog.start();
        auditLogger.addAppender(auditLog);
        idp = new Idp();
        gw = TestGateway.start(idp.gatewayConfig());
        http = new Http();
        ada = idp.token("ada", "admin", "*");
    }

    @AfterAll
    void stop() {
        auditLogger.detachAppender(auditLog);
        http.close();
        gw.close();
        idp.close();
    }

    private record Case(HttpMethod method, String path, JsonObject body, int status, String action, String tenant) {
    }

    /** One successful request per mutating route, in an order that makes each possible; the credential id is filled in. */
    private Map<String, Case> cases(String[] credentialId) {
        Map<String, Case> c = new LinkedHashMap<>();
        c.put("POST /admin/tenants", new Case(HttpMethod.POST, "/admin/tenants",
                new JsonObject().put("id", "aud-t").put("displayName", "Audit Hospital"), 201, "tenant.create", "aud-t"));
        c.put("PATCH /admin/tenants/:id", new Case(HttpMethod.PATCH, "/admin/tenants/aud-t",
                new JsonObject().put("displayName", "Audit Hospital West"), 200, "tenant.update", "aud-t"));
        c.put("POST /admin/environments", new Case(HttpMethod.POST, "/admin/environments",
                Fixtures.environment("aud-env").put("tenantId", "aud-t"), 201, "environment.create", "aud-t"));
        c.put("PATCH /admin/environments/:id", new Case(HttpMethod.PATCH, "/admin/environments/aud-env",
                new JsonObject().put("displayName", "Audit PRD").put("rateLimitPerSecond", 30), 200, "environment.update", "aud-t"));
        for (String step : List.of("activate", "pause", "resume")) {
            c.put("POST /admin/environments/:id/" + step, new Case(HttpMethod.POST, "/admin/environments/aud-env/" + step,
                    null, 200, "environment." + step, "aud-t"));
        }
        c.put("POST /admin/environments/:id/keys/rotate", new Case(HttpMethod.POST, "/admin/environments/aud-env/keys/rotate",
                null, 201, "environment.rotate-key", "aud-t"));
        c.put("POST /admin/environments/:id/test-connection", new Case(HttpMethod.POST,
                "/admin/environments/aud-env/test-connection", null, 200, "environment.test-connection", "aud-t"));
        c.put("POST /admin/tenants/:id/credentials", new Case(HttpMethod.POST, "/admin/tenants/aud-t/credentials",
                new JsonObject().put("name", "aud lockers"), 201, "credential.create", "aud-t"));
        c.put("DELETE /admin/tenants/:id/credentials/:credentialId", new Case(HttpMethod.DELETE,
                "/admin/tenants/aud-t/credentials/" + credentialId[0], null, 200, "credential.revoke", "aud-t"));
        c.put("POST /admin/dead-letters/replay", new Case(HttpMethod.POST, "/admin/dead-letters/replay",
                new JsonObject().put("ids", new JsonArray().add(987654)), 200, "dead-letters.replay", null));
        c.put("POST /admin/retention/run", new Case(HttpMethod.POST, "/admin/retention/run", null, 202, "retention.run", null));
        c.put("POST /admin/environments/:id/disable", new Case(HttpMethod.POST, "/admin/environments/aud-env/disable",
                null, 200, "environment.disable", "aud-t"));
        c.put("DELETE /admin/environments/:id", new Case(HttpMethod.DELETE, "/admin/environments/aud-env", null, 204,
                "environment.delete", "aud-t"));
        c.put("DELETE /admin/tenants/:id", new Case(HttpMethod.DELETE, "/admin/tenants/aud-t", null, 204, "tenant.delete", "aud-t"));
        return c;
    }

    private long rows() {
        return TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM audit_entry");
    }

    private JsonObject newest(String token) {
        return http.get(gw.managementPort(), "/admin/audit?limit=1", token).bodyAsJsonObject().getJsonArray("items")
                .getJsonObject(0);
    }

    @Test
    @Order(1)
    @DisplayName("every mutating admin route appends exactly one audit row: the person, tenant, target, request id, outcome "
            + "and what changed, and never the credential's secret; one INFO line each")
    void everyChangeIsAudited() {
        Set<String> mutating = new HashSet<>();
        for (Route r : gw.gateway().managementRouter().getRoutes()) {
            if (r.getPath() != null && r.getPath().startsWith("/admin") && r.methods() != null) {
                r.methods().stream().filter(m -> m != HttpMethod.GET).forEach(m -> mutating.add(m + " " + r.getPath()));
            }
        }
        String[] credentialId = new String[1];
        assertThat(cases(credentialId).keySet()).as("an audit case for every mutating route of the router")
                .containsExactlyInAnyOrderElementsOf(mutating);
        Map<String, Case> cases = cases(credentialId);
        List<String> keys = new ArrayList<>(cases.keySet());
        for (int i = 0; i < keys.size(); i++) {
            Case c = cases(credentialId).get(keys.get(i)); // rebuilt: the revoke case needs the id created before it
            long before = rows();
            int lines = auditLog.list.size();
            HttpResponse<Buffer> r = http.send(c.method(), gw.managementPort(), c.path(), ada, c.body());
            String what = keys.get(i) + " -> " + r.statusCode() + " " + r.bodyAsString();
            assertThat(r.statusCode()).as(what).isEqualTo(c.status());
            if (c.action().equals("credential.create")) {
                credentialId[0] = r.bodyAsJsonObject().getString("id");
                credentialSecret = r.bodyAsJsonObject().getString("secret");
            }
            assertThat(rows()).as("exactly one audit row for " + what).isEqualTo(before + 1);
            assertThat(auditLog.list.size()).as("one audit log line for " + what).isEqualTo(lines + 1);
            JsonObject row = newest(ada);
            assertThat(row.getString("actor")).as(what).isEqualTo("ada");
            assertThat(row.getString("actorName")).as(what).isEqualTo("Person ada");
            assertThat(row.getString("via")).as(what).isEqualTo("oidc");
            assertThat(row.getString("action")).as(what).isEqualTo(c.action());
            assertThat(row.getString("tenantId")).as(what).isEqualTo(c.tenant());
            assertThat(row.getString("outcome")).as(what).isEqualTo("success");
            assertThat(row.getInteger("status")).as(what).isEqualTo(c.status());
            assertThat(row.getString("requestId")).as(what).isEqualTo(r.getHeader("X-Request-ID")).isNotBlank();
            assertThat(row.getString("target")).as(what).isNotBlank();
            assertThat(row.getString("at")).as(what).isNotBlank();
            assertThat(auditLog.list.get(auditLog.list.size() - 1).getFormattedMessage()).as(what)
                    .contains(c.action()).contains("ada");
        }
        JsonObject update = rowOf("environment.update");
        assertThat(update.getJsonObject("changes").getJsonObject("displayName").getString("before")).isEqualTo("Test aud-env");
        assertThat(update.getJsonObject("changes").getJsonObject("displayName").getString("after")).isEqualTo("Audit PRD");
        assertThat(update.getJsonObject("changes").fieldNames()).containsExactlyInAnyOrder("displayName", "rateLimitPerSecond");
        assertThat(rowOf("environment.pause").getJsonObject("changes").getJsonObject("status").getString("before"))
                .isEqualTo("READY");
        assertThat(rowOf("environment.rotate-key").getJsonObject("changes").getJsonObject("newKey").getString("kid")).isNotBlank();
        assertThat(rowOf("credential.create").getJsonObject("changes").getJsonObject("after").getString("name"))
                .isEqualTo("aud lockers");
        assertThat(credentialSecret).startsWith("rlg_");
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM audit_entry a WHERE a::text LIKE '%' || ? || '%'",
                credentialSecret.substring(12))).as("no secret in any audit row").isZero();
        assertThat(auditLog.list).noneMatch(e -> e.getFormattedMessage().contains(credentialSecret.substring(12)));
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM audit_entry a WHERE a::text ~ '\"d\"\\s*:'"))
                .as("no private key member in any audit row").isZero();
    }

    private JsonObject rowOf(String action) {
        return http.get(gw.managementPort(), "/admin/audit?action=" + action, ada).bodyAsJsonObject().getJsonArray("items")
                .getJsonObject(0);
    }

    @Test
    @Order(2)
    @DisplayName("the break-glass token is audited as static-admin-token; a refused change is audited as refused")
    void breakGlassAndRefusals() {
        assertThat(http.post(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN, new JsonObject().put("id", "aud-bg"))
                .statusCode()).isEqualTo(201);
        JsonObject row = newest(ada);
        assertThat(row.getString("actor")).isEqualTo("static-admin-token");
        assertThat(row.getString("via")).isEqualTo("static-admin-token");
        long before = rows();
        HttpResponse<Buffer> bad = http.post(gw.managementPort(), "/admin/tenants", ada, new JsonObject().put("id", "Not An Id"));
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(rows()).isEqualTo(before + 1);
        JsonObject refused = newest(ada);
        assertThat(refused.getString("outcome")).isEqualTo("refused");
        assertThat(refused.getInteger("status")).isEqualTo(400);
        assertThat(refused.getString("action")).isEqualTo("tenant.create");
        assertThat(refused.getJsonObject("changes").getString("detail")).as("why it was refused").contains("id");
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM tenant WHERE id = 'Not An Id'")).isZero();
    }

    @Test
    @Order(3)
    @DisplayName("refusals before any route ran are audited as request.refused with the person, never in another "
            + "tenant's trail: a missing role, another tenant's object, a platform-only action")
    void refusalsBeforeRoutes() {
        assertThat(http.post(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN, new JsonObject().put("id", "ref-a"))
                .statusCode()).isEqualTo(201);
        assertThat(http.post(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN, new JsonObject().put("id", "ref-b"))
                .statusCode()).isEqualTo(201);
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN,
                Fixtures.environment("ref-b-env").put("tenantId", "ref-b")).statusCode()).isEqualTo(201);
        String viewer = idp.token("vic", "viewer", "ref-a");
        String scopedAdmin = idp.token("sam", "admin", "ref-a");
        record Attempt(String token, HttpMethod method, String path, int status, String actor) {
        }
        for (Attempt a : List.of(new Attempt(viewer, HttpMethod.DELETE, "/admin/tenants/ref-a", 403, "vic"),
                new Attempt(scopedAdmin, HttpMethod.DELETE, "/admin/environments/ref-b-env", 404, "sam"),
                new Attempt(scopedAdmin, HttpMethod.POST, "/admin/retention/run", 403, "sam"),
                new Attempt(scopedAdmin, HttpMethod.DELETE, "/admin/tenants/ref-a", 403, "sam"))) {
            long before = rows();
            HttpResponse<Buffer> r = http.send(a.method(), gw.managementPort(), a.path(), a.token(), null);
            assertThat(r.statusCode()).as(a.toString()).isEqualTo(a.status());
            assertThat(rows()).as("one row for " + a).isEqualTo(before + 1);
            JsonObject row = newest(ada);
            assertThat(row.getString("action")).isEqualTo("request.refused");
            assertThat(row.getString("actor")).isEqualTo(a.actor());
            assertThat(row.getString("outcome")).isEqualTo("refused");
            assertThat(row.getInteger("status")).isEqualTo(a.status());
            assertThat(row.getString("tenantId")).as("the person's tenant, not the object's").isEqualTo("ref-a");
            assertThat(row.getString("target")).isEqualTo(a.path());
            assertThat(row.getString("requestId")).isEqualTo(r.getHeader("X-Request-ID"));
        }
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM environment WHERE id = 'ref-b-env'")).isEqualTo(1);
        long before = rows();
        assertThat(http.get(gw.managementPort(), "/admin/environments/ref-b-env", scopedAdmin).statusCode()).isEqualTo(404);
        assertThat(rows()).as("reads are not audit rows").isEqualTo(before);
        // a tenant whose id starts like a sub-path is still deleted only by a platform admin
        assertThat(http.post(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN, new JsonObject().put("id", "credentials-lab"))
                .statusCode()).isEqualTo(201);
        assertThat(http.send(HttpMethod.DELETE, gw.managementPort(), "/admin/tenants/credentials-lab",
                idp.token("lab", "admin", "credentials-lab"), null).statusCode()).isEqualTo(403);
        // a person whose sub is "static-admin-token" is still a person
        assertThat(http.post(gw.managementPort(), "/admin/tenants", idp.token("static-admin-token", "admin", "*"),
                new JsonObject().put("id", "ref-c")).statusCode()).isEqualTo(201);
        assertThat(newest(ada).getString("via")).isEqualTo("oidc");
    }

    @Test
    @Order(4)
    @DisplayName("GET /admin/audit: newest first, a cursor pages through all without gaps or repeats, filters by action, "
            + "tenant and time, refuses a forged cursor, and shows a tenant's person only their tenant's entries")
    void readingTheTrail() {
        List<Long> all = new ArrayList<>();
        String cursor = null;
        do {
            JsonObject page = http.get(gw.managementPort(), "/admin/audit?limit=4" + (cursor == null ? "" : "&cursor=" + cursor),
                    ada).bodyAsJsonObject();
            page.getJsonArray("items").forEach(i -> all.add(((JsonObject) i).getLong("id")));
            cursor = page.getString("nextCursor");
        } while (cursor != null);
        assertThat(all).hasSize((int) rows()).doesNotHaveDuplicates();
        assertThat(all).isSortedAccordingTo(java.util.Comparator.reverseOrder());

        JsonArray pauses = http.get(gw.managementPort(), "/admin/audit?action=environment.pause", ada).bodyAsJsonObject()
                .getJsonArray("items");
        assertThat(pauses).hasSize(1);
        JsonArray ofTenant = http.get(gw.managementPort(), "/admin/audit?tenantId=aud-t", ada).bodyAsJsonObject().getJsonArray("items");
        assertThat(ofTenant.stream().map(i -> ((JsonObject) i).getString("tenantId")).distinct().toList()).containsExactly("aud-t");
        assertThat(http.get(gw.managementPort(), "/admin/audit?since=2999-01-01T00:00:00Z", ada).bodyAsJsonObject()
                .getJsonArray("items")).isEmpty();
        for (String bad : List.of("cursor=bm9wZQ", "cursor=%00", "since=yesterday", "limit=0", "tenantId=NOPE", "action=DROP%20TABLE")) {
            HttpResponse<Buffer> r = http.get(gw.managementPort(), "/admin/audit?" + bad, ada);
            assertThat(r.statusCode()).as(bad).isEqualTo(400);
            assertThat(r.bodyAsJsonObject().getJsonArray("errors")).as(bad).isNotEmpty();
        }

        String bobAdmin = idp.token("bob", "admin", "bob-t");
        assertThat(http.post(gw.managementPort(), "/admin/tenants", TestGateway.ADMIN, new JsonObject().put("id", "bob-t"))
                .statusCode()).isEqualTo(201);
        assertThat(http.post(gw.managementPort(), "/admin/environments", bobAdmin, Fixtures.environment("bob-env"))
                .statusCode()).isEqualTo(201);
        JsonArray bobSees = http.get(gw.managementPort(), "/admin/audit", bobAdmin).bodyAsJsonObject().getJsonArray("items");
        assertThat(bobSees).isNotEmpty();
        assertThat(bobSees.stream().map(i -> ((JsonObject) i).getString("tenantId")).distinct().toList()).containsExactly("bob-t");
        assertThat(http.get(gw.managementPort(), "/admin/audit?tenantId=aud-t", bobAdmin).bodyAsJsonObject()
                .getJsonArray("items")).isEmpty();
        String bobViewer = idp.token("bob-viewer", "viewer", "bob-t");
        assertThat(http.get(gw.managementPort(), "/admin/audit", bobViewer).statusCode()).isEqualTo(200);
    }

    @Test
    @Order(5)
    @DisplayName("retention.audit: the cleaner deletes audit rows older than it and keeps the rest")
    void retention() throws Exception {
        long kept = rows();
        TestPostgres.column(gw.databaseUrl(), "INSERT INTO audit_entry (at, actor, via, action, target, request_id, outcome, "
                + "status) VALUES (now() - interval '500 days', 'old', 'oidc', 'tenant.create', 'tenant/old', 'r', 'success', 201) "
                + "RETURNING id");
        assertThat(rows()).isEqualTo(kept + 1);
        assertThat(http.post(gw.managementPort(), "/admin/retention/run", ada, null).statusCode()).isEqualTo(202);
        long afterRun = kept + 1; // the run request is itself audited
        Await.until(() -> TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM audit_entry WHERE actor = 'old'") == 0, 20);
        assertThat(rows()).isEqualTo(afterRun);
        // the run that deleted it says so (an earlier run of this test deleted nothing)
        Await.until(() -> {
            JsonObject last = http.get(gw.managementPort(), "/admin/retention", ada).bodyAsJsonObject().getJsonObject("lastRun");
            return last != null && last.getJsonObject("deleted").getLong("audit_entry") == 1;
        }, 20);
    }
}
