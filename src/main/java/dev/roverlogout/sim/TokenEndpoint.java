package dev.roverlogout.sim;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;

/**
 * {@code POST /{instance}/oauth2/token}: verifies the client assertion against the instance's registered JWK Set URL
 * (fetched, cached, refetched on an unknown kid) or uploaded public key, refuses a replayed jti, and issues bearer
 * tokens that {@link DisassociateEndpoint} accepts. Owns the JWK Set cache.
 */
final class TokenEndpoint {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Vertx vertx;
    private final WebClient client;
    private final Map<String, SimInstance> instances;
    private final Map<String, JWKSet> jwksCache = new ConcurrentHashMap<>();

    TokenEndpoint(Vertx vertx, WebClient client, Map<String, SimInstance> instances) {
        this.vertx = vertx;
        this.client = client;
        this.instances = instances;
    }

    /** Drops the cached JWK Set of {@code instance}: its settings changed (maybe its JWK Set URL). */
    void forgetKeys(String instance) {
        jwksCache.remove(instance);
    }

    void handle(RoutingContext ctx) {
        SimInstance i = instances.get(ctx.pathParam("instance"));
        if (i == null) {
            EpicSimulator.json(ctx, 404, new JsonObject().put("Message", "No such Interconnect instance"));
            return;
        }
        i.tokenRequests.incrementAndGet();
        var form = ctx.request().formAttributes();
        if (!"client_credentials".equals(form.get("grant_type"))
                || !dev.roverlogout.epic.ClientAssertion.TYPE.equals(form.get("client_assertion_type"))
                || form.get("client_assertion") == null) {
            refuse(ctx, i, "invalid_request", "request", "grant_type, client_assertion_type and client_assertion are required");
            return;
        }
        if (!i.keySynced) {
            refuse(ctx, i, "invalid_client", "not_synced", "Invalid client: the key is not (yet) known for this client");
            return;
        }
        String assertion = form.get("client_assertion");
        String tokenUrl = "http://" + ctx.request().authority() + ctx.request().path();
        keys(i, assertion).compose(keys -> vertx.executeBlocking(() ->
                        AssertionVerifier.verify(assertion, keys, i.clientId, tokenUrl, Instant.now())))
                .onSuccess(jti -> issue(ctx, i, jti))
                .onFailure(e -> {
                    if (e instanceof AssertionVerifier.Refused r) {
                        refuse(ctx, i, "invalid_client", r.reason, r.getMessage());
                    } else {
                        refuse(ctx, i, "invalid_client", "jwks", "cannot read the registered JWK Set: " + e.getMessage());
                    }
                });
    }

    /** Answers a verified assertion with a new token, unless its jti was used before. */
    private void issue(RoutingContext ctx, SimInstance i, String jti) {
        long now = System.currentTimeMillis();
        i.usedJti.values().removeIf(expiry -> expiry < now);
        if (i.usedJti.putIfAbsent(jti, now + 600_000) != null) {
            refuse(ctx, i, "invalid_client", "replay", "the jti of this client assertion was used before");
            return;
        }
        String token = newToken();
        i.tokens.put(token, now + i.tokenLifetimeSeconds * 1000L);
        i.tokensIssued.incrementAndGet();
        EpicSimulator.json(ctx, 200, new JsonObject().put("access_token", token).put("token_type", "Bearer")
                .put("expires_in", i.tokenLifetimeSeconds).put("scope", "system/*"));
    }

    /** The instance's JWK Set, fetched on first use and again when the assertion names a kid it lacks. */
    private Future<JWKSet> keys(SimInstance i, String assertion) {
        String kid;
        try {
            kid = AssertionVerifier.keyId(assertion);
        } catch (AssertionVerifier.Refused r) {
            return Future.failedFuture(r);
        }
        if (i.publicKeyPem != null) { // registered by upload: Epic uses that key whatever the kid says
            try {
                JWK uploaded = JWK.parseFromPEMEncodedObjects(i.publicKeyPem);
                return Future.succeededFuture(new JWKSet(withKeyId(uploaded.toPublicJWK(), kid)));
            } catch (com.nimbusds.jose.JOSEException e) {
                return Future.failedFuture(new AssertionVerifier.Refused("bad_upload", "the uploaded public key cannot be read"));
            }
        }
        JWKSet cached = jwksCache.get(i.name);
        if (cached != null && cached.getKeyByKeyId(kid) != null) {
            return Future.succeededFuture(cached);
        }
        if (i.jwksUrl == null) {
            return Future.failedFuture(new AssertionVerifier.Refused("no_jwks", "no JWK Set URL or public key is registered for this client"));
        }
        return client.getAbs(i.jwksUrl).send().compose(r -> {
            if (r.statusCode() != 200) {
                return Future.failedFuture(new IllegalStateException("JWK Set URL answered " + r.statusCode()));
            }
            try {
                JWKSet set = JWKSet.parse(r.bodyAsString());
                jwksCache.put(i.name, set);
                return Future.succeededFuture(set);
            } catch (java.text.ParseException e) {
                return Future.failedFuture(new IllegalStateException("JWK Set URL did not return a JWK Set"));
            }
        });
    }

    private static JWK withKeyId(JWK key, String kid) {
        try {
            JsonObject json = new JsonObject(key.toJSONString()).put("kid", kid);
            return JWK.parse(json.encode());
        } catch (java.text.ParseException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void refuse(RoutingContext ctx, SimInstance i, String error, String reason, String description) {
        i.tokenFailures.computeIfAbsent(reason, r -> new AtomicLong()).incrementAndGet();
        EpicSimulator.json(ctx, 400, new JsonObject().put("error", error).put("error_description", description));
    }

    private static String newToken() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
