package dev.roverlogout.admin;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.epic.KeyRing;
import dev.roverlogout.epic.MasterKey;
import dev.roverlogout.epic.SigningKeys;
import dev.roverlogout.http.Problem;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.SigningKeyRow;
import dev.roverlogout.store.SigningKeyStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Signing-key routes of an environment: rotation and the certificate for upload. Key generation and
 * certificate signing run on a worker thread. Responses carry public material only.
 */
public final class KeyRoutes {
    /** Validity of the self-signed certificate handed out for upload (Epic reads the key, not the dates). */
    static final Duration CERTIFICATE_VALIDITY = Duration.ofDays(5 * 365);

    private final SigningKeyStore store;
    private final MasterKey masterKey;
    private final GatewayConfig.Keys config;
    private final String publicBaseUrl;

    public KeyRoutes(SigningKeyStore store, MasterKey masterKey, GatewayConfig.Keys config, String publicBaseUrl) {
        this.store = store;
        this.masterKey = masterKey;
        this.config = config;
        this.publicBaseUrl = publicBaseUrl;
    }

    void mount(Router router, Audit audit) {
        router.post("/admin/environments/:id/keys/rotate").respond(audit.of("environment.rotate-key",
                this::rotate));
        router.get("/admin/environments/:id/public-key.pem").handler(this::certificate);
    }

    /** A new key for {@code environmentId}, signing from now + {@code delay}; generated off the event loop. */
    Future<SigningKeyRow> newKey(Vertx vertx, String environmentId, String algorithm, Duration delay) {
        return vertx.executeBlocking(() -> {
            SigningKeys.Generated g = SigningKeys.generate(algorithm, masterKey);
            OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
            return new SigningKeyRow(g.kid(), environmentId, g.algorithm(), g.publicJwk(), g.encryptedPrivateJwk(),
                    now.plus(delay), now);
        });
    }

    /** The keys of an environment as admins see them: id, algorithm, when it signs, whether published. */
    Future<JsonArray> view(String environmentId) {
        return store.keys(environmentId).map(keys -> {
            Instant now = Instant.now();
            List<SigningKeyRow> published = KeyRing.published(keys, now, config.retireAfter());
            String current = KeyRing.current(keys, now).map(SigningKeyRow::kid).orElse(null);
            JsonArray a = new JsonArray();
            keys.forEach(k -> a.add(new JsonObject().put("kid", k.kid()).put("algorithm", k.algorithm())
                    .put("signingFrom", k.signingFrom().toString()).put("current", k.kid().equals(current))
                    .put("published", published.contains(k))));
            return a;
        });
    }

    private Future<JsonObject> rotate(RoutingContext ctx) {
        Environment e = EnvironmentRoutes.scoped(ctx);
        String id = e.id();
        return newKey(ctx.vertx(), id, e.signingAlgorithm(), config.rotationGrace())
                .compose(key -> store.insert(key).map(key))
                .map(key -> {
                    ctx.response().setStatusCode(201);
                    JsonObject json = new JsonObject().put("kid", key.kid()).put("algorithm", key.algorithm())
                            .put("signingFrom", key.signingFrom().toString())
                            .put("jwksUrl", publicBaseUrl + "/jwks/" + id + ".json");
                    Audit.changes(ctx, new JsonObject().put("newKey", json.copy())); // public: kid, algorithm, dates
                    return json;
                });
    }

    private void certificate(RoutingContext ctx) {
        String id = EnvironmentRoutes.id(ctx);
        store.keys(id)
                .map(keys -> KeyRing.current(keys, Instant.now())
                        .orElseThrow(() -> Problem.notFound("no environment with id '" + id + "' (or it has no key)")))
                .compose(key -> ctx.vertx().executeBlocking(() -> SigningKeys.certificatePem(
                        SigningKeys.privateJwk(key.kid(), key.privateJwe(), masterKey),
                        "rover-logout-gateway " + id + " " + key.kid(), CERTIFICATE_VALIDITY)))
                .onSuccess(pem -> ctx.response().putHeader("Content-Type", "application/x-pem-file").end(pem))
                .onFailure(ctx::fail);
    }
}
