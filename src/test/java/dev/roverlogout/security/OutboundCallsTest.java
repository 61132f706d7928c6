package dev.roverlogout.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.epic.ConnectionTester;
import dev.roverlogout.epic.EpicClient;
import dev.roverlogout.epic.OutboundAddresses;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

/**
 * Where the gateway sends requests on an admin's word (SSRF): link-local, cloud-metadata and unspecified hosts refused
 * with a 400 naming the field (even with allowInsecure), private networks and loopback refused unless the platform
 * allows them (epic.allowPrivateNetworks, on in this test's gateway; off in a second one), names resolving to a
 * refused address refused on create and by test-connection, redirects never followed, TLS certificates always verified — against a real
 * gateway with its lanes on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutboundCallsTest {
    private static final List<String> REFUSED = List.of("http://169.254.169.254", "http://169.254.169.254/latest/meta-data",
            "http://169.254.0.1:8080", "https://[fe80::1]", "https://[fe80::abcd:1]:8443", "https://[fd00:ec2::254]",
            "http://[::ffff:169.254.169.254]", "http://[64:ff9b::a9fe:a9fe]", "http://100.100.100.200",
            "https://metadata.google.internal", "https://METADATA.google.internal.", "http://metadata",
            "http://2852039166", "http://0xa9fea9fe", "http://0251.0376.0251.0376", "http://169.254.169.254.",
            // IPv6 forms that carry 169.254.169.254 (or 100.100.100.200) to a translator or tunnel
            "http://[::169.254.169.254]", "http://[::a9fe:a9fe]", "http://[::ffff:0:169.254.169.254]",
            "http://[64:ff9b::6464:64c8]", "http://[64:ff9b:1::a9fe:a9fe]", "http://[64:ff9b:1:a9fe:a9:fe00::]",
            "http://[2002:a9fe:a9fe::1]", "https://[2002:a9fe:a9fe:1::]:8443", "http://[2001:0:4136:e378:8000:63bf:5601:5601]",
            // the unspecified addresses reach this machine's own ports (0.0.0.0 reached the management port)
            "http://0.0.0.0", "http://0.0.0.0:8081", "http://[::]", "http://[::]:8081", "http://[::ffff:0.0.0.0]",
            "http://0.1.2.3", "http://255.255.255.255", "http://224.0.0.1");
    private static final List<String> ALLOWED = List.of("http://10.1.2.3", "http://192.168.10.20:8443", "http://172.16.0.1",
            "http://127.0.0.1:1", "https://epic.hospital.local", "http://[fd12:3456::1]", "https://[::1]:8443",
            // embedded private and loopback addresses are judged like the plain ones: allowed
            "http://[::ffff:10.1.2.3]", "http://[::10.1.2.3]", "http://[64:ff9b::10.1.2.3]",
            "http://[64:ff9b:1::192.168.10.20]", "http://[2002:c0a8:a14::1]", "http://[2001:db8::a9fe:a9fe]");

    private TestGateway gw;
    private Http http;
    private Vertx vertx;
    private HttpServer redirector;
    private HttpServer target;
    private HttpServer selfSigned;
    private final AtomicInteger targetRequests = new AtomicInteger();
    private final AtomicInteger redirectedCalls = new AtomicInteger();
    private final AtomicInteger selfSignedRequests = new AtomicInteger();

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "500ms"));
        http = new Http();
        vertx = Vertx.vertx();
        target = TestGateway.join(vertx.createHttpServer().requestHandler(r -> {
            targetRequests.incrementAndGet();
            r.response().end("{\"access_token\":\"stolen\",\"expires_in\":300}");
        }).listen(0, "127.0.0.1"));
        String targetUrl = "http://127.0.0.1:" + target.actualPort();
        // an Epic stand-in that issues tokens but answers every other call with a redirect to another server
        redirector = TestGateway.join(vertx.createHttpServer().requestHandler(r -> {
            if (r.path().endsWith("/oauth2/token")) {
                r.response().putHeader("Content-Type", "application/json")
                        .end("{\"access_token\":\"t\",\"token_type\":\"Bearer\",\"expires_in\":300}");
            } else {
                redirectedCalls.incrementAndGet();
                r.response().setStatusCode(307).putHeader("Location", targetUrl + r.uri()).end();
            }
        }).listen(0, "127.0.0.1"));
        SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
        selfSigned = TestGateway.join(vertx.createHttpServer(new HttpServerOptions().setSsl(true)
                .setKeyCertOptions(cert.keyCertOptions())).requestHandler(r -> {
                    selfSignedRequests.incrementAndGet();
                    r.response().end("{\"access_token\":\"t\",\"expires_in\":300}");
                }).listen(0, "127.0.0.1"));
    }

    @AfterAll
    void stop() {
        TestGateway.join(vertx.close());
        http.close();
        gw.close();
    }

    private HttpResponse<Buffer> create(String id, JsonObject overrides) {
        JsonObject body = Fixtures.environment(id).put("allowInsecure", true);
        overrides.forEach(e -> body.put(e.getKey(), e.getValue()));
        return http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, body);
    }

    private static void assertFieldRefused(HttpResponse<Buffer> r, String field, String what) {
        assertThat(r.statusCode()).as(what).isEqualTo(400);
        HostileOracle.assertProblem(r, what);
        assertThat(r.bodyAsJsonObject().getJsonArray("errors").stream().map(e -> ((JsonObject) e).getString("field")))
                .as(what).contains(field);
    }

    @Test
    @DisplayName("link-local and cloud-metadata hosts are 400 naming the field, even with allowInsecure, on create and PATCH")
    void metadataHostsRefused() {
        int n = 0;
        for (String url : REFUSED) {
            String id = "ssrf-" + n++;
            assertFieldRefused(create(id, new JsonObject().put("interconnectUrl", url)), "interconnectUrl", url);
            assertFieldRefused(create(id, new JsonObject().put("tokenAudience", url + "/oauth2/token")), "tokenAudience", url);
        }
        assertThat(TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM environment WHERE id LIKE 'ssrf-%'")).isZero();
        assertThat(create("ssrf-patch", new JsonObject()).statusCode()).isEqualTo(201);
        for (String url : REFUSED) {
            assertFieldRefused(http.send(HttpMethod.PATCH, gw.managementPort(), "/admin/environments/ssrf-patch",
                    TestGateway.ADMIN, new JsonObject().put("interconnectUrl", url)), "interconnectUrl", url);
        }
        assertThat(TestPostgres.column(gw.databaseUrl(), "SELECT interconnect_url FROM environment WHERE id = 'ssrf-patch'"))
                .containsExactly("https://epic.example.org");
    }

    @Test
    @DisplayName("with epic.allowPrivateNetworks on (tests, demo), a platform admin may point an environment at private networks and loopback")
    void privateNetworksAllowed() {
        int n = 0;
        for (String url : ALLOWED) {
            assertThat(create("lan-" + n++, new JsonObject().put("interconnectUrl", url)).statusCode()).as(url).isEqualTo(201);
        }
    }

    @Test
    @DisplayName("by default (epic.allowPrivateNetworks off, as in production) loopback, private and CGNAT hosts are 400 naming the field and the setting")
    void privateNetworksRefusedByDefault() {
        List<String> lan = List.of("http://10.1.2.3", "http://192.168.10.20:8443", "http://172.16.0.1", "http://127.0.0.1:1",
                "http://localhost:8081", "http://LOCALHOST.", "http://gw.localhost", "http://[fd12:3456::1]", "https://[::1]:8443",
                "http://[::ffff:10.1.2.3]", "http://[64:ff9b::127.0.0.1]", "http://100.64.1.1");
        try (TestGateway strict = TestGateway.start(Map.of("RLG_EPIC_ALLOWPRIVATENETWORKS", "false"))) {
            int n = 0;
            for (String url : lan) {
                JsonObject body = Fixtures.environment("strict-" + n++).put("allowInsecure", true).put("interconnectUrl", url);
                HttpResponse<Buffer> r = http.post(strict.managementPort(), "/admin/environments", TestGateway.ADMIN, body);
                assertFieldRefused(r, "interconnectUrl", url);
                assertThat(r.bodyAsJsonObject().getString("detail")).as(url).contains("epic.allowPrivateNetworks");
                body.put("interconnectUrl", "https://epic.example.org").put("tokenAudience", url + "/oauth2/token");
                assertFieldRefused(http.post(strict.managementPort(), "/admin/environments", TestGateway.ADMIN, body),
                        "tokenAudience", url);
            }
            assertThat(TestPostgres.count(strict.databaseUrl(), "SELECT count(*) FROM environment")).isZero();
            JsonObject hospital = Fixtures.environment("strict-public").put("interconnectUrl", "https://203.0.113.10/Interconnect-PRD");
            assertThat(http.post(strict.managementPort(), "/admin/environments", TestGateway.ADMIN, hospital).statusCode())
                    .as("a public address").isEqualTo(201);
            for (String url : lan) {
                assertFieldRefused(http.send(HttpMethod.PATCH, strict.managementPort(), "/admin/environments/strict-public",
                        TestGateway.ADMIN, new JsonObject().put("interconnectUrl", url).put("allowInsecure", true)),
                        "interconnectUrl", url);
            }
            assertThat(TestPostgres.column(strict.databaseUrl(), "SELECT interconnect_url FROM environment"))
                    .containsExactly("https://203.0.113.10/Interconnect-PRD");
        }
    }

    @Test
    @DisplayName("a name that resolves to a private address is refused when private networks are not allowed; a metadata address always")
    void resolvedNamesJudgedLikeLiterals() throws Exception {
        assertThat(create("dns-strict", new JsonObject().put("interconnectUrl", "https://epic.hospital.test")).statusCode())
                .as("a name that does not resolve here").isEqualTo(201);
        try (SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray())) {
            var tokens = sim.tokenProvider(new GatewayMetrics());
            WebClient client = WebClient.create(sim.vertx(), EpicClient.clientOptions());
            InetAddress lan = InetAddress.getByName("10.20.30.40");
            InetAddress metadata = InetAddress.getByName("169.254.169.254");
            ConnectionTester strict = new ConnectionTester(sim.vertx(), client, tokens, "http://gw", host -> new InetAddress[] {lan}, false);
            assertThat(TestGateway.join(strict.refusedName("epic.hospital.test", false))).contains("10.20.30.40", "private");
            assertThat(TestGateway.join(strict.refusedName("epic.hospital.test", true))).as("platform admin, platform allows").isNull();
            assertThat(TestGateway.join(strict.refusedName("10.20.30.40", false))).as("literals are the validator's").isNull();
            ConnectionTester meta = new ConnectionTester(sim.vertx(), client, tokens, "http://gw", host -> new InetAddress[] {metadata}, true);
            assertThat(TestGateway.join(meta.refusedName("epic.hospital.test", true))).contains("169.254.169.254", "link-local");
            ConnectionTester unknown = new ConnectionTester(sim.vertx(), client, tokens, "http://gw", host -> {
                throw new java.net.UnknownHostException(host);
            }, false);
            assertThat(TestGateway.join(unknown.refusedName("epic.hospital.test", false)))
                    .as("not resolvable yet: accepted, test-connection reports it").isNull();
            JsonObject steps = TestGateway.join(strict.test(sim.environment("dns-strict")));
            assertThat(steps.getJsonArray("steps").getJsonObject(0).getString("message")).contains("10.20.30.40");
            assertThat(steps.getJsonArray("steps").getJsonObject(0).getString("status")).isEqualTo("failed");
        }
    }

    @Test
    @DisplayName("a resolved IPv6 address carrying a link-local or metadata IPv4 address is refused, naming the form")
    void embeddedIPv4InResolvedAddresses() throws Exception {
        Map<String, String> refused = Map.of("::a9fe:a9fe", "IPv4-compatible", "64:ff9b::a9fe:a9fe", "NAT64",
                "64:ff9b:1:a9fe:a9:fe00::", "NAT64 64:ff9b:1::/48", "2002:a9fe:a9fe::1", "6to4",
                "2001:0:4136:e378:8000:63bf:5601:5601", "Teredo client", "::ffff:0:6464:64c8", "IPv4-translated");
        for (var e : refused.entrySet()) {
            String why = OutboundAddresses.refusedAddress(InetAddress.getByName(e.getKey()), true);
            assertThat(why).as(e.getKey()).isNotNull().contains(e.getValue());
        }
        for (String allowed : List.of("::1", "64:ff9b::a01:203", "2002:a01:203::1", "2001:db8::1", "2606:4700::1111")) {
            assertThat(OutboundAddresses.refusedAddress(InetAddress.getByName(allowed), true)).as(allowed).isNull();
        }
    }

    @Test
    @DisplayName("test-connection refuses a name that resolves to a metadata address: dns failed, nothing sent")
    void resolvedMetadataAddressRefused() throws Exception {
        assertThat(create("dns-meta", new JsonObject().put("interconnectUrl", "https://epic.hospital.test")).statusCode())
                .isEqualTo(201);
        try (SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray())) {
            var tokens = sim.tokenProvider(new GatewayMetrics());
            WebClient client = WebClient.create(sim.vertx(), EpicClient.clientOptions());
            InetAddress metadata = InetAddress.getByName("169.254.169.254");
            InetAddress hospital = InetAddress.getByName("10.20.30.40");
            ConnectionTester toMetadata = new ConnectionTester(sim.vertx(), client, tokens, "http://gw",
                    host -> new InetAddress[] {hospital, metadata}, true);
            JsonObject refused = TestGateway.join(toMetadata.test(sim.environment("dns-meta")));
            assertThat(refused.getBoolean("ok")).isFalse();
            assertThat(refused.getJsonArray("steps").stream().map(s -> ((JsonObject) s).getString("status")))
                    .containsExactly("failed", "skipped", "skipped", "skipped");
            assertThat(refused.getJsonArray("steps").getJsonObject(0).getString("message")).contains("169.254.169.254");
            ConnectionTester toHospital = new ConnectionTester(sim.vertx(), client, tokens, "http://gw",
                    host -> new InetAddress[] {hospital}, true);
            JsonObject allowed = TestGateway.join(toHospital.test(sim.environment("dns-meta")));
            assertThat(allowed.getJsonArray("steps").getJsonObject(0).getString("status")).isEqualTo("ok");
        }
    }

    @Test
    @DisplayName("redirects are never followed: the token step fails on a redirect, a 307 from Epic dead-letters the job")
    void redirectsNotFollowed() throws Exception {
        String url = "http://127.0.0.1:" + redirector.actualPort();
        assertThat(create("redir", new JsonObject().put("interconnectUrl", url)).statusCode()).isEqualTo(201);
        assertThat(http.post(gw.managementPort(), "/admin/environments/redir/activate", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(200);
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                Fixtures.checkIn("redir-1", "redir", "dev-redir", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        Await.until(() -> "failed".equals(jobState("dev-redir")), 30);
        assertThat(redirectedCalls.get()).as("the call reached the redirecting Epic").isGreaterThanOrEqualTo(1);
        assertThat(targetRequests.get()).as("and never the server it redirected to").isZero();
        assertThat(TestPostgres.column(gw.databaseUrl(), "SELECT last_error FROM disassociation_job WHERE device_id = 'dev-redir'")
                .get(0).toString()).startsWith("307");
    }

    @Test
    @DisplayName("an Epic with a self-signed certificate gets no request: TLS is verified on every call, the job waits")
    void certificatesVerified() throws Exception {
        String url = "https://localhost:" + selfSigned.actualPort();
        assertThat(create("tls-bad", new JsonObject().put("interconnectUrl", url).put("allowInsecure", false)).statusCode())
                .isEqualTo(201);
        assertThat(http.post(gw.managementPort(), "/admin/environments/tls-bad/activate", TestGateway.ADMIN, null)
                .statusCode()).isEqualTo(200);
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                Fixtures.checkIn("tls-1", "tls-bad", "dev-tls", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        Await.until(() -> http.get(gw.managementPort(), "/metrics", null).bodyAsString()
                .contains("rlg_token_requests_total{environment=\"tls-bad\""), 30);
        assertThat(selfSignedRequests.get()).as("no HTTP request passed the failed handshake").isZero();
        assertThat(jobState("dev-tls")).as("a token failure is retried, never a dead letter").isIn("queued", "sending");
    }

    @Test
    @DisplayName("what another server answers is never quoted back: not by test-connection, not in the device history")
    void otherServersAnswersNotQuoted() throws Exception {
        // an internal service that issues "tokens" and answers everything else with a page of its own
        HttpServer chatty = TestGateway.join(vertx.createHttpServer().requestHandler(r -> {
            if (r.path().endsWith("/oauth2/token")) {
                r.response().putHeader("Content-Type", "application/json").end("{\"access_token\":\"t\",\"expires_in\":300}");
            } else {
                r.response().setStatusCode(403).end("<html>internal-secret admin page</html>");
            }
        }).listen(0, "127.0.0.1"));
        // and one that does not speak HTTP at all, but greets with a banner
        var banner = TestGateway.join(vertx.createNetServer().connectHandler(socket ->
                socket.write("SSH-2.0-OpenSSH_9.0 internal-secret\r\n")).listen(0, "127.0.0.1"));
        try {
            assertThat(create("chatty", new JsonObject().put("interconnectUrl", "http://127.0.0.1:" + chatty.actualPort()))
                    .statusCode()).isEqualTo(201);
            assertThat(create("banner", new JsonObject().put("interconnectUrl", "http://127.0.0.1:" + banner.actualPort()))
                    .statusCode()).isEqualTo(201);
            for (String env : List.of("chatty", "banner")) {
                HttpResponse<Buffer> r = http.post(gw.managementPort(), "/admin/environments/" + env + "/test-connection",
                        TestGateway.ADMIN, new JsonObject());
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(r.bodyAsString()).as(env).doesNotContain("internal-secret").doesNotContain("OpenSSH");
            }
            assertThat(http.post(gw.managementPort(), "/admin/environments/chatty/activate", TestGateway.ADMIN, null)
                    .statusCode()).isEqualTo(200);
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                    Fixtures.checkIn("quote-1", "chatty", "dev-quote", "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
            Await.until(() -> "failed".equals(jobState("dev-quote")), 30);
            String history = http.get(gw.managementPort(), "/admin/devices/dev-quote/history", TestGateway.ADMIN).bodyAsString();
            assertThat(history).contains("403").contains("not quoted").doesNotContain("internal-secret");
        } finally {
            TestGateway.join(chatty.close());
            TestGateway.join(banner.close());
        }
    }

    private String jobState(String device) {
        List<Object> states = TestPostgres.column(gw.databaseUrl(), "SELECT state FROM disassociation_job WHERE device_id = ?",
                device);
        return states.isEmpty() ? null : states.get(0).toString();
    }
}
