package dev.roverlogout.security;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.Idp;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.client.HttpResponse;

/**
 * A hospital's admin cannot reach another hospital: for every admin route of the management router (enumerated from
 * the router, so that a new route cannot be forgotten), a person of tenant A aimed at tenant B's environment, tenant,
 * credential, device, dead letter and audit entries gets 404 (as if they did not exist) or 403 (platform-wide
 * actions), lists and filters show nothing of B, and nothing of B changes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CrossTenantWalkTest {
    private Idp idp;
    private TestGateway gw;
    private Http http;
    private String alice;
    private String bCredential;
    private String bSecret;
    private long bDeadLetter;

    @BeforeAll
    void start() {
        idp = new Idp();
        gw = TestGateway.start(idp.gatewayConfig());
        http = new Http();
        for (String t : List.of("tenant-a", "tenant-b")) {
            assertThat(admin(HttpMethod.POST, "/admin/tenants", new JsonObject().put("id", t)).statusCode()).isEqualTo(201);
        }
        for (String[] e : new String[][] {{"a-env", "tenant-a"}, {"b-env", "tenant-b"}, {"b-env-2", "tenant-b"}}) {
            assertThat(admin(HttpMethod.POST, "/admin/environments", Fixtures.environment(e[0]).put("tenantId", e[1]))
                    .statusCode()).isEqualTo(201);
            assertThat(admin(HttpMethod.POST, "/admin/environments/" + e[0] + "/activate", null).statusCode()).isEqualTo(200);
        }
        JsonObject cred = admin(HttpMethod.POST, "/admin/tenants/tenant-b/credentials", new JsonObject().put("name", "b lockers"))
                .bodyAsJsonObject();
        bCredential = cred.getString("id");
        bSecret = cred.getString("secret");
        var posted = http.client().post(gw.publicPort(), "127.0.0.1", "/v1/checkins").bearerTokenAuthentication(bSecret)
                .sendJsonObject(Fixtures.batch(checkIn("b-1", "b-env", "b-device", "2026-11-29T07:00:00Z"),
                        checkIn("b-2", "b-env-2", "b-device-2", "2026-11-29T07:00:00Z")));
        assertThat(TestGateway.join(posted).statusCode()).isEqualTo(202);
        // one of B's jobs ends as a dead letter (dispatch is off in this test; the state is what a failed call leaves)
        TestPostgres.column(gw.databaseUrl(), "UPDATE disassociation_job SET state = 'failed', finished_at = now(), "
                + "last_error = 'b failure' WHERE device_id = 'b-device-2' RETURNING id");
        bDeadLetter = (Long) TestPostgres.column(gw.databaseUrl(),
                "SELECT id FROM disassociation_job WHERE device_id = 'b-device-2'").get(0);
        alice = idp.token("alice", "admin", "tenant-a");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
        idp.close();
    }

    private HttpResponse<Buffer> admin(HttpMethod method, String path, JsonObject body) {
        return http.send(method, gw.managementPort(), path, TestGateway.ADMIN, body);
    }

    private HttpResponse<Buffer> asAlice(HttpMethod method, String path, JsonObject body) {
        return http.send(method, gw.managementPort(), path, alice, body);
    }

    /** Everything of tenant B a request could change, as text. */
    private String stateOfB() {
        String url = gw.databaseUrl();
        return Json.encode(List.of(
                TestPostgres.column(url, "SELECT row_to_json(e)::text FROM environment e WHERE tenant_id = 'tenant-b' ORDER BY id"),
                TestPostgres.column(url, "SELECT row_to_json(t)::text FROM tenant t WHERE id = 'tenant-b'"),
                TestPostgres.column(url, "SELECT id || coalesce(revoked_at::text, '') || name FROM ingest_credential "
                        + "WHERE tenant_id = 'tenant-b' ORDER BY id"),
                TestPostgres.column(url, "SELECT id || state || attempts FROM disassociation_job WHERE environment_id LIKE 'b-%' ORDER BY id"),
                TestPostgres.column(url, "SELECT kid FROM signing_key WHERE environment_id LIKE 'b-%' ORDER BY kid"),
                TestPostgres.column(url, "SELECT count(*) FROM environment_status_change WHERE environment_id LIKE 'b-%'")));
    }

    /** What of B must never show in an answer to A. */
    private List<String> secretsOfB() {
        return List.of("b-env", "tenant-b", "b-device", bCredential, bSecret.substring(12), "b lockers", "b failure");
    }

    private record Call(HttpMethod method, String path, JsonObject body, Set<Integer> expected) {
    }

    /** The requests A makes against B for one route of the router. */
    private List<Call> callsAgainstB(HttpMethod method, String template) {
        Set<Integer> hidden = Set.of(404);
        JsonObject body = switch (method.name()) {
            case "PATCH" -> new JsonObject().put("displayName", "pwned by A");
            case "POST" -> template.endsWith("/credentials") ? new JsonObject().put("name", "A's backdoor") : null;
            default -> null;
        };
        if (template.contains(":")) {
            String path = template.replace("/admin/environments/:id", "/admin/environments/b-env")
                    .replace("/admin/tenants/:id", "/admin/tenants/tenant-b")
                    .replace(":credentialId", bCredential).replace(":deviceId", "b-device");
            assertThat(path).as("the walk knows every path parameter of " + template).doesNotContain(":");
            if (method == HttpMethod.DELETE && template.equals("/admin/environments/:id")) {
                path += "?force=true";
            }
            return List.of(new Call(method, path, body, hidden));
        }
        return switch (method.name() + " " + template) {
            case "GET /admin/environments" -> List.of(new Call(method, template, null, Set.of(200)),
                    new Call(method, template + "?tenantId=tenant-b", null, Set.of(200)));
            case "GET /admin/queue" -> List.of(new Call(method, template, null, Set.of(200)),
                    new Call(method, template + "?environmentId=b-env", null, hidden));
            case "GET /admin/dead-letters" -> List.of(new Call(method, template, null, Set.of(200)),
                    new Call(method, template + "?environmentId=b-env-2", null, hidden));
            case "GET /admin/audit" -> List.of(new Call(method, template, null, Set.of(200)),
                    new Call(method, template + "?tenantId=tenant-b", null, Set.of(200)));
            case "GET /admin/tenants", "GET /admin/me" -> List.of(new Call(method, template, null, Set.of(200)));
            case "GET /admin/retention", "POST /admin/retention/run", "POST /admin/tenants" ->
                    List.of(new Call(method, template, new JsonObject().put("id", "tenant-c"), Set.of(403)));
            case "POST /admin/environments" -> List.of(new Call(method, template,
                    Fixtures.environment("a-sneaks-into-b").put("tenantId", "tenant-b"), Set.of(400)));
            case "POST /admin/dead-letters/replay" -> List.of(
                    new Call(method, template, new JsonObject().put("ids", new JsonArray().add(bDeadLetter)), Set.of(200)),
                    new Call(method, template, new JsonObject().put("environmentId", "b-env-2"), hidden));
            default -> throw new AssertionError("the cross-tenant walk has no case for " + method + " " + template
                    + ": add one (what may a person of another tenant get there?)");
        };
    }

    /**
     * The answer, less the audit entries of tenant A's own people: their refused attempts at B's objects are in A's
     * trail with the paths they typed, which tells them nothing they did not know.
     */
    private static String withoutOwnAttempts(HttpResponse<Buffer> answer) {
        String text = answer.bodyAsString() == null ? "" : answer.bodyAsString();
        if (answer.statusCode() != 200 || !text.startsWith("{\"items\"")) {
            return text;
        }
        JsonObject page = answer.bodyAsJsonObject();
        JsonArray others = new JsonArray();
        page.getJsonArray("items").stream().map(JsonObject.class::cast)
                .filter(i -> !Set.of("alice", "olga").contains(i.getString("actor"))).forEach(others::add);
        return page.put("items", others).encode();
    }

    @Test
    @DisplayName("every admin route, aimed by a person of tenant A at tenant B's objects: 404 or 403, nothing of B in the "
            + "answer, nothing of B changed")
    void walk() {
        String before = stateOfB();
        Set<String> walked = new TreeSet<>();
        for (Route r : gw.gateway().managementRouter().getRoutes()) {
            if (r.getPath() == null || !r.getPath().startsWith("/admin")) {
                continue;
            }
            if (r.methods() == null || r.methods().isEmpty()) {
                assertThat(r.getPath()).as("only the auth and body handlers take every method").isEqualTo("/admin/");
                continue;
            }
            for (HttpMethod m : r.methods()) {
                for (Call c : callsAgainstB(m, r.getPath())) {
                    HttpResponse<Buffer> answer = asAlice(c.method(), c.path(), c.body());
                    String what = c.method() + " " + c.path() + " -> " + answer.statusCode() + " " + answer.bodyAsString();
                    assertThat(answer.statusCode()).as(what).isIn(c.expected());
                    if (answer.statusCode() >= 400) {
                        HostileOracle.assertProblem(answer, what);
                    }
                    String asked = c.path() + (c.body() == null ? "" : c.body().encode());
                    String shown = withoutOwnAttempts(answer);
                    for (String secret : secretsOfB()) {
                        if (!asked.contains(secret)) { // what A named itself may be echoed ("no tenant 'tenant-b'")
                            assertThat(shown).as(what + " mentions " + secret).doesNotContain(secret);
                        }
                    }
                    walked.add(m + " " + r.getPath());
                }
            }
        }
        assertThat(walked).as("the walk reached the routes").hasSizeGreaterThanOrEqualTo(25)
                .contains("DELETE /admin/tenants/:id/credentials/:credentialId", "POST /admin/environments/:id/keys/rotate",
                        "GET /admin/devices/:deviceId/history", "GET /admin/audit");
        assertThat(stateOfB()).as("nothing of tenant B changed").isEqualTo(before);
        // and B's lockers still post: their credential was not revoked
        var posted = http.client().post(gw.publicPort(), "127.0.0.1", "/v1/checkins").bearerTokenAuthentication(bSecret)
                .sendJsonObject(Fixtures.batch(checkIn("b-3", "b-env", "b-device", "2026-11-29T08:00:00Z")));
        assertThat(TestGateway.join(posted).statusCode()).isEqualTo(202);

        // a platform admin replaying B's dead letter by id: the audit row is B's, so B's people see it
        String sre = idp.token("sre", "operator", "*");
        HttpResponse<Buffer> replay = http.post(gw.managementPort(), "/admin/dead-letters/replay", sre,
                new JsonObject().put("ids", new JsonArray().add(bDeadLetter)));
        assertThat(replay.bodyAsJsonObject().getJsonArray("replayed").stream().map(id -> ((Number) id).longValue()).toList())
                .containsExactly(bDeadLetter);
        JsonObject row = http.get(gw.managementPort(), "/admin/audit?action=dead-letters.replay&tenantId=tenant-b",
                idp.token("bea", "viewer", "tenant-b")).bodyAsJsonObject().getJsonArray("items").getJsonObject(0);
        assertThat(row.getString("actor")).isEqualTo("sre");
        assertThat(row.getJsonObject("changes").getJsonArray("tenants").getList()).containsExactly("tenant-b");
    }

    @Test
    @DisplayName("another tenant's environment and one that does not exist get the same answer, whatever the method or "
            + "sub-path: no probing for other hospitals' ids")
    void noExistenceOracle() {
        String operator = idp.token("olga", "operator", "tenant-a");
        for (String[] probe : new String[][] {{"GET", ""}, {"HEAD", ""}, {"OPTIONS", ""}, {"PUT", ""}, {"GET", "/x"},
                {"GET", "/public-key.pem"}, {"POST", "/pause"}, {"POST", "/test-connection"}, {"DELETE", "/keys"}}) {
            HttpMethod method = HttpMethod.valueOf(probe[0]);
            JsonObject body = method == HttpMethod.POST ? new JsonObject().put("reason", 1) : null;
            HttpResponse<Buffer> hidden = http.send(method, gw.managementPort(), "/admin/environments/b-env" + probe[1], operator, body);
            HttpResponse<Buffer> missing = http.send(method, gw.managementPort(), "/admin/environments/zz-gone" + probe[1], operator, body);
            String what = probe[0] + " /admin/environments/{id}" + probe[1];
            // 404 from the scope guard; 403 where the role check (which looks at no object) refuses first
            assertThat(hidden.statusCode()).as(what).isEqualTo(missing.statusCode()).isIn(403, 404);
            assertThat(hidden.bodyAsString() == null ? "" : hidden.bodyAsString().replace("b-env", "ID"))
                    .as(what).isEqualTo(missing.bodyAsString() == null ? "" : missing.bodyAsString().replace("zz-gone", "ID"));
        }
    }

    @Test
    @DisplayName("the same person does reach their own tenant: lists show A's objects, A's environment can be changed")
    void ownTenantReachable() {
        JsonArray envs = asAlice(HttpMethod.GET, "/admin/environments", null).bodyAsJsonObject().getJsonArray("environments");
        assertThat(envs.stream().map(e -> ((JsonObject) e).getString("id")).toList()).containsExactly("a-env");
        assertThat(asAlice(HttpMethod.GET, "/admin/tenants", null).bodyAsJsonObject().getJsonArray("tenants").stream()
                .map(t -> ((JsonObject) t).getString("id")).toList()).containsExactly("tenant-a");
        assertThat(asAlice(HttpMethod.PATCH, "/admin/environments/a-env", new JsonObject().put("displayName", "A West"))
                .statusCode()).isEqualTo(200);
        assertThat(asAlice(HttpMethod.GET, "/admin/queue?environmentId=a-env", null).statusCode()).isEqualTo(200);
        HttpResponse<Buffer> created = asAlice(HttpMethod.POST, "/admin/environments", Fixtures.environment("a-env-2"));
        assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
        assertThat(created.bodyAsJsonObject().getString("tenantId")).as("a one-tenant person's default").isEqualTo("tenant-a");
        assertThat(asAlice(HttpMethod.POST, "/admin/tenants/tenant-a/credentials", new JsonObject().put("name", "a lockers"))
                .statusCode()).isEqualTo(201);
        assertThat(asAlice(HttpMethod.DELETE, "/admin/tenants/tenant-a", null).statusCode())
                .as("deleting a tenant is for platform admins").isEqualTo(403);
        // a platform SRE (tenants *) sees both
        String sre = idp.token("sre", "viewer", "*");
        JsonArray all = http.get(gw.managementPort(), "/admin/environments", sre).bodyAsJsonObject().getJsonArray("environments");
        assertThat(all.stream().map(e -> ((JsonObject) e).getString("id")).toList()).contains("a-env", "b-env");
    }

    @Test
    @DisplayName("a tenant's own admin never points an environment at loopback or a private network, even where the platform allows it")
    void tenantAdminCannotReachPrivateNetworks() {
        JsonObject lan = Fixtures.environment("a-lan").put("tenantId", "tenant-a").put("allowInsecure", true)
                .put("interconnectUrl", "http://127.0.0.1:1");
        assertThat(admin(HttpMethod.POST, "/admin/environments", lan).statusCode()).as("platform admin").isEqualTo(201);
        for (String url : List.of("http://10.0.0.5", "http://127.0.0.1:8081", "http://localhost:8081", "http://[::1]")) {
            HttpResponse<Buffer> created = asAlice(HttpMethod.POST, "/admin/environments",
                    Fixtures.environment("a-lan-2").put("allowInsecure", true).put("interconnectUrl", url));
            assertThat(created.statusCode()).as(url).isEqualTo(400);
            assertThat(created.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field"))
                    .isEqualTo("interconnectUrl");
            assertThat(asAlice(HttpMethod.PATCH, "/admin/environments/a-lan", new JsonObject().put("interconnectUrl", url))
                    .statusCode()).as("PATCH " + url).isEqualTo(400);
            assertThat(asAlice(HttpMethod.PATCH, "/admin/environments/a-lan", new JsonObject().put("tokenAudience", url + "/token"))
                    .statusCode()).as("PATCH tokenAudience " + url).isEqualTo(400);
        }
        assertThat(asAlice(HttpMethod.PATCH, "/admin/environments/a-lan", new JsonObject().put("displayName", "A lab"))
                .statusCode()).as("the URL a platform admin set stays when the tenant's admin renames").isEqualTo(200);
        assertThat(TestPostgres.column(gw.databaseUrl(), "SELECT interconnect_url FROM environment WHERE id = 'a-lan'"))
                .containsExactly("http://127.0.0.1:1");
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM environment WHERE id = 'a-lan-2'")).isZero();
        String platformAdmin = idp.token("sre-admin", "admin", "*");
        assertThat(http.send(HttpMethod.PATCH, gw.managementPort(), "/admin/environments/a-lan", platformAdmin,
                new JsonObject().put("interconnectUrl", "http://127.0.0.1:2")).statusCode()).as("a platform person").isEqualTo(200);
        // test-connection judges the address by the rights of the person asking, not only by the platform's setting
        JsonObject asTenantAdmin = asAlice(HttpMethod.POST, "/admin/environments/a-lan/test-connection", null).bodyAsJsonObject();
        assertThat(asTenantAdmin.getJsonArray("steps").getJsonObject(0).getString("status")).isEqualTo("failed");
        assertThat(asTenantAdmin.getJsonArray("steps").getJsonObject(0).getString("message")).contains("loopback");
        JsonObject asPlatform = admin(HttpMethod.POST, "/admin/environments/a-lan/test-connection", null).bodyAsJsonObject();
        assertThat(asPlatform.getJsonArray("steps").getJsonObject(0).getString("status")).isEqualTo("ok");
        // leaves tenant A as the other tests expect it
        assertThat(admin(HttpMethod.DELETE, "/admin/environments/a-lan", null).statusCode()).isIn(200, 204);
    }
}
