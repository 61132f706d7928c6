package dev.roverlogout.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.Idp;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * Admins are people: access tokens of a real OpenID Connect provider (discovery and JWKS over HTTP), roles viewer <
 * operator < admin, the static admin token as break-glass (or disabled), and the JWT attacks a reviewer tries first.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeopleTest {
    private Idp idp;
    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        idp = new Idp();
        gw = TestGateway.start(idp.gatewayConfig());
        http = new Http();
        Fixtures.environment(http, gw, "ppl-env", "READY");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
        idp.close();
    }

    private HttpResponse<Buffer> me(String token) {
        return http.get(gw.managementPort(), "/admin/me", token);
    }

    private JWTClaimsSet.Builder validClaims() {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(idp.issuer()).audience(Idp.AUDIENCE).subject("mallory")
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)))
                .claim("roles", List.of("admin")).claim("tenants", List.of("*"));
    }

    private String kidOfIssuer() throws Exception {
        return SignedJWT.parse(idp.token("someone", "viewer", "*")).getHeader().getKeyID();
    }

    private RSAKey issuerPublicKey() throws Exception {
        String jwks = http.client().getAbs(idp.server().jwksUrl(Idp.ISSUER_ID).toString()).send()
                .toCompletionStage().toCompletableFuture().get().bodyAsString();
        return (RSAKey) JWKSet.parse(jwks).getKeys().get(0);
    }

    private void assertRefused(String token, String what) {
        HttpResponse<Buffer> r = me(token);
        assertThat(r.statusCode()).as(what).isEqualTo(401);
        HostileOracle.assertProblem(r, what);
        // one answer for every refusal: the caller learns nothing about which check failed
        assertThat(r.bodyAsJsonObject().getString("detail")).as(what).isEqualTo("the token was not accepted");
        assertThat(r.getHeader("WWW-Authenticate")).as(what).contains("invalid_token");
    }

    @Test
    @DisplayName("a person's token is accepted with signature, iss, aud and exp checked; /admin/me shows name, role, tenants")
    void personSignsIn() {
        HttpResponse<Buffer> r = me(idp.token("alice", "operator", "st-marys", "st-johns"));
        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
        JsonObject me = r.bodyAsJsonObject();
        assertThat(me.getString("subject")).isEqualTo("alice");
        assertThat(me.getString("name")).isEqualTo("Person alice");
        assertThat(me.getString("role")).isEqualTo("operator");
        assertThat(me.getJsonArray("tenants").getList()).containsExactly("st-johns", "st-marys");
        assertThat(me.getString("via")).isEqualTo("oidc");
        assertThat(me(TestGateway.ADMIN).bodyAsJsonObject().getString("via")).isEqualTo("static-admin-token");
    }

    @Test
    @DisplayName("JWT attacks are 401 with one undistinguished reason: alg none, HS256 keyed with the public key, wrong aud, "
            + "wrong iss, expired, not yet valid, unknown kid, another key with the issuer's kid")
    void jwtAttacks() throws Exception {
        String kid = kidOfIssuer();
        assertRefused(new PlainJWT(validClaims().build()).serialize(), "alg none");

        RSAKey published = issuerPublicKey();
        SignedJWT hmac = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(kid).build(), validClaims().build());
        hmac.sign(new MACSigner(published.toRSAPublicKey().getEncoded()));
        assertRefused(hmac.serialize(), "HS256 signed with the issuer's public key");
        SignedJWT hmacJwk = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(kid).build(), validClaims().build());
        hmacJwk.sign(new MACSigner(published.toJSONString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertRefused(hmacJwk.serialize(), "HS256 signed with the issuer's JWK text");

        Map<String, Object> admin = new HashMap<>(Map.of("roles", List.of("admin"), "tenants", List.of("*")));
        assertRefused(idp.server().issueToken(Idp.ISSUER_ID, "mallory", "some-other-application", admin, 3600).serialize(),
                "wrong aud");
        assertRefused(idp.server().issueToken("another-idp", "mallory", Idp.AUDIENCE, admin, 3600).serialize(),
                "wrong iss (another issuer of the same provider)");
        assertRefused(idp.server().issueToken(Idp.ISSUER_ID, "mallory", Idp.AUDIENCE, admin, -300).serialize(),
                "expired five minutes ago");
        Map<String, Object> later = new HashMap<>(admin);
        later.put("nbf", Instant.now().plusSeconds(600).getEpochSecond());
        String notYet = idp.server().issueToken(Idp.ISSUER_ID, "mallory", Idp.AUDIENCE, later, 3600).serialize();
        assertThat(SignedJWT.parse(notYet).getJWTClaimsSet().getNotBeforeTime()).as("the provider set our nbf")
                .isAfter(new Date());
        assertRefused(notYet, "not valid for another ten minutes");

        RSAKey attacker = new RSAKeyGenerator(2048).keyID("made-up-kid").generate();
        SignedJWT unknown = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("made-up-kid").build(),
                validClaims().build());
        unknown.sign(new RSASSASigner(attacker));
        assertRefused(unknown.serialize(), "unknown kid");
        RSAKey sameKid = new RSAKeyGenerator(2048).keyID(kid).generate();
        SignedJWT impostor = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(), validClaims().build());
        impostor.sign(new RSASSASigner(sameKid));
        assertRefused(impostor.serialize(), "a second issuer's key with the same kid");

        assertRefused("a.b.c", "three dots of nothing");
        Map<String, Object> idToken = new HashMap<>(admin);
        idToken.put("at_hash", "x4Ub2kfb0kKw5Z8bPHLEgA");
        assertRefused(idp.token("mallory", idToken), "an ID token (at_hash) instead of an access token");
        Map<String, Object> keycloakId = new HashMap<>(admin);
        keycloakId.put("typ", "ID");
        assertRefused(idp.token("mallory", keycloakId), "a Keycloak ID token (typ ID)");
        assertThat(me(idp.token("alice", "admin", "*")).statusCode()).as("a real token still works").isEqualTo(200);
    }

    @Test
    @DisplayName("roles: a viewer reads, an operator also pauses, resumes and tests, only an admin changes settings; "
            + "no role or no tenant is 403")
    void roles() {
        String viewer = idp.token("vera", "viewer", "*");
        String operator = idp.token("otto", "operator", "*");
        String admin = idp.token("ada", "admin", "*");
        int port = gw.managementPort();
        assertThat(http.get(port, "/admin/environments/ppl-env", viewer).statusCode()).isEqualTo(200);
        HttpResponse<Buffer> viewerPause = http.post(port, "/admin/environments/ppl-env/pause", viewer, null);
        assertThat(viewerPause.statusCode()).isEqualTo(403);
        assertThat(viewerPause.bodyAsJsonObject().getString("detail")).contains("operator").contains("viewer");
        assertThat(http.post(port, "/admin/environments/ppl-env/pause", operator, null).statusCode()).isEqualTo(200);
        assertThat(http.post(port, "/admin/environments/ppl-env/resume", operator, null).statusCode()).isEqualTo(200);
        JsonObject rename = new JsonObject().put("displayName", "Renamed");
        assertThat(http.send(io.vertx.core.http.HttpMethod.PATCH, port, "/admin/environments/ppl-env", operator, rename)
                .statusCode()).isEqualTo(403);
        assertThat(http.post(port, "/admin/environments/ppl-env/keys/rotate", operator, null).statusCode()).isEqualTo(403);
        assertThat(http.send(io.vertx.core.http.HttpMethod.PATCH, port, "/admin/environments/ppl-env", admin, rename)
                .statusCode()).isEqualTo(200);

        Map<String, Object> noRole = new HashMap<>(Map.of("roles", List.of("nurse"), "tenants", List.of("*")));
        HttpResponse<Buffer> r = me(idp.token("nurse", noRole));
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.bodyAsJsonObject().getString("detail")).contains("roles");
        Map<String, Object> noTenant = new HashMap<>(Map.of("roles", "admin"));
        assertThat(me(idp.token("orphan", noTenant)).statusCode()).isEqualTo(403);
        assertThat(me(TestGateway.INGEST).statusCode()).as("the ingest token is no admin").isEqualTo(403);
    }

    @Test
    @DisplayName("nested claims (Keycloak's realm_access.roles) and space-separated values are read")
    void claimPaths() {
        try (TestGateway keycloakStyle = TestGateway.start(withConfig(Map.of("RLG_AUTH_OIDC_ROLESCLAIM", "realm_access.roles",
                "RLG_AUTH_OIDC_TENANTSCLAIM", "rlg_tenants")))) {
            Map<String, Object> claims = new HashMap<>();
            claims.put("realm_access", Map.of("roles", List.of("offline_access", "viewer", "operator")));
            claims.put("rlg_tenants", "st-marys st-johns");
            JsonObject me = http.get(keycloakStyle.managementPort(), "/admin/me", idp.token("kc", claims)).bodyAsJsonObject();
            assertThat(me.getString("role")).isEqualTo("operator");
            assertThat(me.getJsonArray("tenants").getList()).containsExactly("st-johns", "st-marys");
        }
    }

    private Map<String, String> withConfig(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(idp.gatewayConfig());
        env.putAll(extra);
        return env;
    }

    @Test
    @DisplayName("auth.adminToken: disabled turns the break-glass token off; people still sign in")
    void breakGlassDisabled() {
        try (TestGateway noStatic = TestGateway.start(withConfig(Map.of("RLG_AUTH_ADMINTOKEN", "disabled")))) {
            HttpResponse<Buffer> r = http.get(noStatic.managementPort(), "/admin/environments", TestGateway.ADMIN);
            assertThat(r.statusCode()).isEqualTo(401);
            assertThat(http.get(noStatic.managementPort(), "/admin/environments", "disabled").statusCode()).isEqualTo(401);
            assertThat(http.get(noStatic.managementPort(), "/admin/environments", idp.token("ada", "admin", "*"))
                    .statusCode()).isEqualTo(200);
        }
    }

    @Test
    @DisplayName("keys are fetched again when a token names a kid not yet seen (the provider rotated), at most once per 10 s")
    void keyRotation() throws Exception {
        RSAKey first = new RSAKeyGenerator(2048).keyID("k1").generate();
        RSAKey second = new RSAKeyGenerator(2048).keyID("k2").generate();
        AtomicReference<JWKSet> published = new AtomicReference<>(new JWKSet(first.toPublicJWK()));
        AtomicInteger fetches = new AtomicInteger();
        Vertx vertx = Vertx.vertx();
        try {
            // a provider that rotates its signing key: discovery and JWKS, as Keycloak serves them
            String[] issuer = new String[1];
            HttpServer provider = vertx.createHttpServer().requestHandler(req -> {
                if (req.path().endsWith("/.well-known/openid-configuration")) {
                    req.response().putHeader("Content-Type", "application/json").end(new JsonObject()
                            .put("issuer", issuer[0]).put("jwks_uri", issuer[0] + "/keys").encode());
                } else if (req.path().endsWith("/keys")) {
                    fetches.incrementAndGet();
                    req.response().putHeader("Content-Type", "application/json")
                            .end(new JsonObject(published.get().toJSONObject()).encode());
                } else {
                    req.response().setStatusCode(404).end();
                }
            });
            int port = provider.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get().actualPort();
            issuer[0] = "http://127.0.0.1:" + port + "/realms/hospital";
            try (TestGateway rotating = TestGateway.start(Map.of("RLG_AUTH_OIDC_ISSUER", issuer[0],
                    "RLG_AUTH_OIDC_AUDIENCE", Idp.AUDIENCE))) {
                JWTClaimsSet claims = new JWTClaimsSet.Builder(validClaims().build()).issuer(issuer[0]).subject("rita").build();
                String byFirst = sign(claims, first);
                assertThat(http.get(rotating.managementPort(), "/admin/me", byFirst).statusCode()).isEqualTo(200);
                String otherIssuer = sign(new JWTClaimsSet.Builder(claims).issuer("https://evil.example.org").build(), first);
                assertThat(http.get(rotating.managementPort(), "/admin/me", otherIssuer).statusCode())
                        .as("a valid signature does not make another issuer ours").isEqualTo(401);
                published.set(new JWKSet(List.of(first.toPublicJWK(), second.toPublicJWK())));
                String bySecond = sign(claims, second);
                long t0 = System.nanoTime();
                int status = 0;
                while (System.nanoTime() - t0 < 20_000_000_000L && status != 200) {
                    status = http.get(rotating.managementPort(), "/admin/me", bySecond).statusCode();
                    Thread.sleep(500); // a test thread, not an event loop
                }
                assertThat(status).as("the new key is fetched and accepted").isEqualTo(200);
                int after = fetches.get();
                assertThat(after).as("fetched at start, then once for the new kid").isEqualTo(2);
                for (int i = 0; i < 20; i++) {
                    SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("forged-" + i).build(), claims);
                    forged.sign(new RSASSASigner(new RSAKeyGenerator(2048).keyID("forged-" + i).generate()));
                    assertThat(http.get(rotating.managementPort(), "/admin/me", forged.serialize()).statusCode()).isEqualTo(401);
                }
                assertThat(fetches.get()).as("a storm of made-up kids does not make us hammer the provider")
                        .isLessThanOrEqualTo(after + 1);
            }
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get();
        }
    }

    @Test
    @DisplayName("while the provider cannot be reached people get 503 (not a misleading 401); the break-glass token works")
    void providerDown() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        String issuer = "http://127.0.0.1:" + port + "/realms/gone";
        try (TestGateway orphan = TestGateway.start(Map.of("RLG_AUTH_OIDC_ISSUER", issuer, "RLG_AUTH_OIDC_AUDIENCE", Idp.AUDIENCE))) {
            RSAKey key = new RSAKeyGenerator(2048).keyID("k").generate();
            String token = sign(new JWTClaimsSet.Builder(validClaims().build()).issuer(issuer).build(), key);
            HttpResponse<Buffer> r = http.get(orphan.managementPort(), "/admin/me", token);
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.getHeader("Retry-After")).isNotNull();
            HostileOracle.assertProblem(r, "provider down");
            assertThat(http.get(orphan.managementPort(), "/admin/me", TestGateway.ADMIN).statusCode()).isEqualTo(200);
        }
    }

    private static String sign(JWTClaimsSet claims, RSAKey key) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }
}
