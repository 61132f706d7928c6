package dev.roverlogout.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

import com.nimbusds.jose.jwk.JWK;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.roverlogout.epic.MasterKey;
import dev.roverlogout.epic.SigningKeys;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;

/**
 * Who may call what (every route of both routers, enumerated from the routers themselves so that a new route cannot
 * escape), the admin API only on the management port, and private keys never leaving the gateway: not in any
 * response, not in any log line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthAndSecretsTest {
    /** Routes that need no token, by design (contract §4, §5); every other route must. */
    private static final Set<String> PUBLIC_OPEN = Set.of("/jwks/:file");
    private static final Set<String> MANAGEMENT_OPEN = Set.of("/health/live", "/health/ready", "/metrics",
            "/console", "/console/", "/console/config.json"); // the console's static files; its data needs a token
    private static final Set<String> PRIVATE_JWK_MEMBERS = Set.of("d", "p", "q", "dp", "dq", "qi");

    private TestGateway gw;
    private Http http;
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private Logger root;
    private Logger ours;

    @BeforeAll
    void start() {
        root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ours = (Logger) LoggerFactory.getLogger("dev.roverlogout");
        ours.setLevel(Level.DEBUG); // our debug lines too: a key must not leak at any level
        logs.start();
        root.addAppender(logs);
        gw = TestGateway.start(Map.of());
        http = new Http();
        Fixtures.environment(http, gw, "sec-env", "READY");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
        root.detachAppender(logs);
        ours.setLevel(null);
    }

    /** A route of one router: its methods and path template. */
    private record RouteOf(HttpMethod method, String template, boolean management) {
        String path() {
            return template.replace(":id", "sec-env").replace(":deviceId", "dev-sec").replace(":file", "sec-env.json");
        }
    }

    private static List<RouteOf> routes(Router router, boolean management) {
        List<RouteOf> out = new ArrayList<>();
        for (Route r : router.getRoutes()) {
            String path = r.getPath();
            if (path == null) {
                continue; // catch-all handlers (URI check, failure handler): no route of their own
            }
            Set<HttpMethod> methods = r.methods() == null || r.methods().isEmpty() ? Set.of(HttpMethod.GET) : r.methods();
            methods.forEach(m -> out.add(new RouteOf(m, path, management)));
        }
        return out;
    }

    private List<RouteOf> allRoutes() {
        List<RouteOf> all = new ArrayList<>(routes(gw.gateway().publicRouter(), false));
        all.addAll(routes(gw.gateway().managementRouter(), true));
        return all;
    }

    private HttpResponse<Buffer> call(RouteOf r, int port, String token) {
        var req = http.client().request(r.method(), port, "127.0.0.1", r.path());
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        return TestGateway.join(req.send());
    }

    @Test
    @DisplayName("every route of both routers needs its role: no token 401, a wrong token 401, the other role's token 403")
    void everyRouteChecksItsRole() {
        List<RouteOf> all = allRoutes();
        List<String> templates = all.stream().map(RouteOf::template).toList();
        assertThat(templates).as("the walk sees the routes").contains("/v1/checkins", "/admin/environments",
                "/admin/environments/:id", "/admin/environments/:id/test-connection", "/admin/dead-letters/replay",
                "/admin/queue", "/admin/devices/:deviceId/history", "/admin/environments/:id/keys/rotate");
        assertThat(templates).as("the open routes are still there").containsAll(PUBLIC_OPEN).containsAll(MANAGEMENT_OPEN);
        String statusBefore = Json.encode(TestPostgres.column(gw.databaseUrl(), "SELECT status FROM environment"));
        int checked = 0;
        for (RouteOf r : all) {
            if ((r.management() ? MANAGEMENT_OPEN : PUBLIC_OPEN).contains(r.template())) {
                continue;
            }
            int port = r.management() ? gw.managementPort() : gw.publicPort();
            String otherRole = r.management() ? TestGateway.INGEST : TestGateway.ADMIN;
            String what = r.method() + " " + r.template() + (r.management() ? " (management)" : " (public)");
            HttpResponse<Buffer> none = call(r, port, null);
            assertThat(none.statusCode()).as(what + " without a token").isEqualTo(401);
            assertThat(none.getHeader("WWW-Authenticate")).as(what).startsWith("Bearer");
            HostileOracle.assertProblem(none, what);
            assertThat(call(r, port, "not-a-token-of-ours-0123456789").statusCode()).as(what + " with a wrong token").isEqualTo(401);
            HttpResponse<Buffer> forbidden = call(r, port, otherRole);
            assertThat(forbidden.statusCode()).as(what + " with the other role's token").isEqualTo(403);
            HostileOracle.assertProblem(forbidden, what);
            checked++;
        }
        assertThat(checked).isGreaterThanOrEqualTo(15);
        assertThat(Json.encode(TestPostgres.column(gw.databaseUrl(), "SELECT status FROM environment")))
                .as("no refused request changed anything").isEqualTo(statusBefore);
    }

    @Test
    @DisplayName("the admin API is only on the management port: every admin route is 404 on the public port, whatever the token")
    void adminOnlyOnManagementPort() {
        List<RouteOf> admin = routes(gw.gateway().managementRouter(), true).stream()
                .filter(r -> r.template().startsWith("/admin")).toList();
        assertThat(admin).hasSizeGreaterThanOrEqualTo(15);
        for (RouteOf r : admin) {
            for (String token : new String[] {TestGateway.ADMIN, TestGateway.INGEST, null}) {
                HttpResponse<Buffer> res = call(r, gw.publicPort(), token);
                assertThat(res.statusCode()).as(r.method() + " " + r.path() + " on the public port").isEqualTo(404);
                HostileOracle.assertProblem(res, r.path());
                assertThat(res.bodyAsJsonObject().getString("detail")).as("which port serves it")
                        .contains("management port").contains("management.port");
            }
        }
        HttpResponse<Buffer> ingestThere = http.post(gw.managementPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject());
        assertThat(ingestThere.statusCode()).isEqualTo(404);
        assertThat(ingestThere.bodyAsJsonObject().getString("detail")).contains("public port").contains("http.port");
        HttpResponse<Buffer> unknown = http.get(gw.managementPort(), "/admin/environments", "not-a-token-of-ours-0123456789");
        assertThat(unknown.bodyAsJsonObject().getString("detail")).as("where admin tokens come from")
                .contains("auth.adminToken").contains("tokens.properties").doesNotContain(TestGateway.ADMIN);
    }

    @Test
    @DisplayName("private keys (ES384 and RS384, before and after rotation) appear in no response and no log line")
    void privateKeysNeverLeave() {
        List<String> seen = new ArrayList<>();
        for (String[] env : new String[][] {{"sec-es", "ES384"}, {"sec-rs", "RS384"}}) {
            HttpResponse<Buffer> created = http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN,
                    Fixtures.environment(env[0]).put("signingAlgorithm", env[1]));
            assertThat(created.statusCode()).isEqualTo(201);
            seen.add(created.bodyAsString());
            HttpResponse<Buffer> rotated = http.post(gw.managementPort(), "/admin/environments/" + env[0] + "/keys/rotate",
                    TestGateway.ADMIN, null);
            assertThat(rotated.statusCode()).isEqualTo(201);
            seen.add(rotated.bodyAsString());
            seen.add(http.post(gw.managementPort(), "/admin/environments/" + env[0] + "/test-connection", TestGateway.ADMIN,
                    null).bodyAsString());
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                    Fixtures.checkIn("sec-" + env[0], env[0], "dev-sec", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        }
        int gets = 0;
        for (RouteOf r : allRoutes()) {
            if (r.method() != HttpMethod.GET) {
                continue;
            }
            for (String id : new String[] {"sec-es", "sec-rs"}) {
                String path = r.path().replace("sec-env", id);
                var res = TestGateway.join(http.client().get(r.management() ? gw.managementPort() : gw.publicPort(),
                        "127.0.0.1", path).bearerTokenAuthentication(TestGateway.ADMIN).send());
                seen.add(res.headers().toString() + "\n" + res.bodyAsString());
                gets++;
            }
        }
        assertThat(gets).as("every GET route, JWKS and public-key.pem included").isGreaterThanOrEqualTo(16);
        assertThat(String.join("\n", seen)).contains("BEGIN CERTIFICATE").contains("\"kty\"");

        List<String> secrets = privateValues();
        assertThat(secrets).as("four keys' private values, from the database").hasSizeGreaterThanOrEqualTo(2 + 2 * 6);
        for (String response : seen) {
            assertThat(response).doesNotContain("PRIVATE KEY");
            secrets.forEach(s -> assertThat(response).doesNotContain(s));
            assertThat(privateMembers(response)).as("private JWK members in " + response).isEmpty();
        }
        List<String> lines = logs.list.stream().map(e -> e.getFormattedMessage() + " " + e.getKeyValuePairs() + " "
                + (e.getThrowableProxy() == null ? "" : e.getThrowableProxy().getMessage())).toList();
        assertThat(lines).as("something was logged").isNotEmpty();
        for (String line : lines) {
            assertThat(line).doesNotContain("PRIVATE KEY").doesNotContain(TestGateway.ADMIN).doesNotContain(TestGateway.INGEST)
                    .doesNotContain(TestGateway.MASTER_KEY);
            secrets.forEach(s -> assertThat(line).doesNotContain(s));
        }
    }

    /** The private members of every stored key, decrypted with the test master key (what must never be seen). */
    private List<String> privateValues() {
        MasterKey master = MasterKey.resolve(Optional.of(TestGateway.MASTER_KEY), Path.of("unused"), true);
        List<Object> kids = TestPostgres.column(gw.databaseUrl(),
                "SELECT kid FROM signing_key WHERE environment_id IN ('sec-es', 'sec-rs')");
        List<String> values = new ArrayList<>();
        for (Object kid : kids) {
            String jwe = (String) TestPostgres.column(gw.databaseUrl(), "SELECT private_jwe FROM signing_key WHERE kid = ?",
                    kid).get(0);
            JWK jwk = SigningKeys.privateJwk((String) kid, jwe, master);
            Map<String, Object> members = jwk.toJSONObject();
            PRIVATE_JWK_MEMBERS.forEach(m -> {
                if (members.get(m) instanceof String v) {
                    values.add(v);
                }
            });
        }
        return values;
    }

    /** Values of private JWK members found anywhere in a JSON response (none expected). */
    private static List<Object> privateMembers(String response) {
        int start = response.indexOf('{');
        List<Object> found = new ArrayList<>();
        if (start < 0) {
            return found;
        }
        try {
            walk(Json.decodeValue(response.substring(start)), found);
        } catch (RuntimeException e) {
            // not JSON (the PEM): the string checks cover it
        }
        return found;
    }

    private static void walk(Object node, List<Object> found) {
        if (node instanceof JsonObject o) {
            if (o.containsKey("kty")) {
                PRIVATE_JWK_MEMBERS.forEach(m -> {
                    if (o.containsKey(m)) {
                        found.add(o.getValue(m));
                    }
                });
            }
            o.forEach(e -> walk(e.getValue(), found));
        } else if (node instanceof JsonArray a) {
            a.forEach(v -> walk(v, found));
        }
    }
}
