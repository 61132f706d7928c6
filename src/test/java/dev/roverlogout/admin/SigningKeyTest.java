package dev.roverlogout.admin;

import static dev.roverlogout.testing.Fixtures.environment;
import static dev.roverlogout.testing.TestPostgres.column;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;

import dev.roverlogout.epic.MasterKey;
import dev.roverlogout.store.DatabaseStartException;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/** Signing keys: generated with the environment, published as a JWKS, rotated, encrypted at rest. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SigningKeyTest {
    private static final Set<String> PRIVATE_MEMBERS = Set.of("d", "p", "q", "dp", "dq", "qi", "oth", "k");
    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
    }

    private JsonArray jwks(String id) {
        HttpResponse<Buffer> r = http.get(gw.publicPort(), "/jwks/" + id + ".json", null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.getHeader("Cache-Control")).isEqualTo("public, max-age=300");
        JsonArray keys = r.bodyAsJsonObject().getJsonArray("keys");
        keys.forEach(k -> assertThat(((JsonObject) k).fieldNames()).doesNotContainAnyElementsOf(PRIVATE_MEMBERS));
        return keys;
    }

    private HttpResponse<Buffer> admin(HttpMethod method, String path, JsonObject body) {
        return http.send(method, gw.managementPort(), path, TestGateway.ADMIN, body);
    }

    @Test
    @DisplayName("a new environment has an ES384 P-384 key, published without private members at its JWKS URL")
    void es384ByDefault() throws Exception {
        assertThat(admin(HttpMethod.POST, "/admin/environments", environment("keys-es")).statusCode()).isEqualTo(201);
        JsonArray keys = jwks("keys-es");
        assertThat(keys).hasSize(1);
        JWK jwk = JWK.parse(keys.getJsonObject(0).encode());
        assertThat(jwk).isInstanceOf(ECKey.class);
        assertThat(((ECKey) jwk).getCurve().getName()).isEqualTo("P-384");
        assertThat(jwk.getAlgorithm().getName()).isEqualTo("ES384");
        assertThat(jwk.isPrivate()).isFalse();
        JsonArray adminView = admin(HttpMethod.GET, "/admin/environments/keys-es", null).bodyAsJsonObject().getJsonArray("keys");
        assertThat(adminView.getJsonObject(0).getString("kid")).isEqualTo(jwk.getKeyID());
        assertThat(adminView.getJsonObject(0).getBoolean("current")).isTrue();
        assertThat(http.get(gw.publicPort(), "/jwks/nope.json", null).statusCode()).isEqualTo(404);
    }

    @Test
    @DisplayName("signingAlgorithm RS384 gives a 3072-bit RSA key")
    void rs384() throws Exception {
        admin(HttpMethod.POST, "/admin/environments", environment("keys-rs").put("signingAlgorithm", "RS384"));
        RSAKey jwk = (RSAKey) JWK.parse(jwks("keys-rs").getJsonObject(0).encode());
        assertThat(jwk.size()).isEqualTo(3072);
        assertThat(jwk.getAlgorithm().getName()).isEqualTo("RS384");
    }

    @Test
    @DisplayName("private keys at rest are JWE under the master key, not plaintext, and another master key cannot read them")
    void encryptedAtRest() throws Exception {
        admin(HttpMethod.POST, "/admin/environments", environment("keys-rest"));
        List<Object> stored = column(gw.databaseUrl(), "SELECT private_jwe FROM signing_key WHERE environment_id = 'keys-rest'");
        String jwe = (String) stored.get(0);
        String kid = (String) column(gw.databaseUrl(), "SELECT kid FROM signing_key WHERE environment_id = 'keys-rest'").get(0);
        assertThat(jwe.split("\\.")).hasSize(5);
        assertThat(jwe).doesNotContain("\"d\"").doesNotContain("P-384");
        MasterKey right = MasterKey.resolve(java.util.Optional.of(TestGateway.MASTER_KEY), java.nio.file.Path.of("unused"), true);
        assertThat(JWK.parse(right.decrypt(kid, jwe)).isPrivate()).isTrue();
        String other = java.util.Base64.getEncoder().encodeToString("0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII));
        MasterKey wrong = MasterKey.resolve(java.util.Optional.of(other), java.nio.file.Path.of("unused"), true);
        assertThatThrownBy(() -> wrong.decrypt(kid, jwe)).hasMessageContaining("security.masterKey").hasMessageNotContaining("\"d\"");
    }

    @Test
    @DisplayName("rotation publishes the new key at once and keeps signing with the old one until the grace has passed")
    void rotation() throws Exception {
        admin(HttpMethod.POST, "/admin/environments", environment("keys-rot"));
        String oldKid = jwks("keys-rot").getJsonObject(0).getString("kid");
        HttpResponse<Buffer> r = admin(HttpMethod.POST, "/admin/environments/keys-rot/keys/rotate", null);
        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(r.bodyAsJsonObject().fieldNames()).doesNotContainAnyElementsOf(PRIVATE_MEMBERS);
        String newKid = r.bodyAsJsonObject().getString("kid");
        assertThat(jwks("keys-rot").stream().map(k -> ((JsonObject) k).getString("kid"))).containsExactly(oldKid, newKid);
        JsonArray view = admin(HttpMethod.GET, "/admin/environments/keys-rot", null).bodyAsJsonObject().getJsonArray("keys");
        assertThat(view.getJsonObject(0).getBoolean("current")).isTrue();
        assertThat(view.getJsonObject(1).getBoolean("current")).isFalse();
        assertThat(view.getJsonObject(1).getBoolean("published")).isTrue();
        assertThat(admin(HttpMethod.POST, "/admin/environments/nope/keys/rotate", null).statusCode()).isEqualTo(404);
    }

    @Test
    @DisplayName("public-key.pem is a self-signed X.509 certificate of the current public key")
    void certificate() throws Exception {
        admin(HttpMethod.POST, "/admin/environments", environment("keys-pem"));
        HttpResponse<Buffer> r = http.get(gw.managementPort(), "/admin/environments/keys-pem/public-key.pem", TestGateway.ADMIN);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.bodyAsString()).startsWith("-----BEGIN CERTIFICATE-----").doesNotContain("PRIVATE");
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(r.body().getBytes()));
        cert.verify(cert.getPublicKey());
        ECKey published = (ECKey) JWK.parse(jwks("keys-pem").getJsonObject(0).encode());
        assertThat(cert.getPublicKey()).isEqualTo(published.toECPublicKey());
        assertThat(http.get(gw.managementPort(), "/admin/environments/keys-pem/public-key.pem", TestGateway.INGEST).statusCode())
                .isEqualTo(403);
    }

    @Test
    @DisplayName("a gateway with a different master key than the database's is refused at start")
    void masterKeyMismatch() {
        String url = TestPostgres.newDatabase();
        TestGateway.start(url, Map.of()).close();
        String other = java.util.Base64.getEncoder().encodeToString("another-master-key-of-32-bytes!!".getBytes(StandardCharsets.US_ASCII));
        assertThatThrownBy(() -> TestGateway.start(url, Map.of("RLG_SECURITY_MASTERKEY", other)))
                .isInstanceOf(DatabaseStartException.class).hasMessageContaining("security.masterKey");
    }
}
