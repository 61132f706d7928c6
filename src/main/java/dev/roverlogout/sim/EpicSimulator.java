package dev.roverlogout.sim;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * An Epic Interconnect stand-in for demos, tests and load tests. Per instance (a path segment, like a real
 * Interconnect instance): {@code POST /{instance}/oauth2/token} verifies the client assertion against the
 * instance's registered JWK Set URL (fetched, cached, refetched on an unknown kid) and issues bearer tokens;
 * {@code POST /{instance}/...DisassociateMobileDevice} checks the bearer token and records the call. Faults
 * (rate limit, latency, error rate, outage, key not synced) and statistics live under {@code /_sim}.
 */
public final class EpicSimulator extends VerticleBase {
    private static final Logger log = LoggerFactory.getLogger(EpicSimulator.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String host;
    private final int port;
    private final JsonArray initialInstances;
    private final Map<String, SimInstance> instances = new ConcurrentHashMap<>();
    private final Map<String, JWKSet> jwksCache = new ConcurrentHashMap<>();
    private WebClient client;
    private HttpServer server;

    public EpicSimulator(String host, int port, JsonArray instances) {
        this.host = host;
        this.port = port;
        this.initialInstances = instances;
    }

    @Override
    public Future<?> start() {
        client = WebClient.create(vertx);
        initialInstances.forEach(o -> upsert((JsonObject) o));
        Router router = Router.router(vertx);
        router.route().handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
        // ?devices=false leaves out calls per device (one entry per device: large after a big run)
        router.get("/_sim/stats").handler(ctx -> json(ctx, 200, stats(!"false".equals(ctx.queryParams().get("devices")))));
        router.get("/_sim/instances").handler(ctx -> json(ctx, 200, stats()));
        router.put("/_sim/instances/:name").handler(this::configure);
        router.patch("/_sim/instances/:name").handler(this::configure);
        router.post("/_sim/reset").handler(ctx -> {
            instances.replaceAll((name, old) -> new SimInstance(name).tap(n -> n.configure(old.settings())));
            json(ctx, 200, stats());
        });
        router.get("/_sim/instances/:name/calls").handler(ctx -> {
            SimInstance i = instances.get(ctx.pathParam("name"));
            json(ctx, i == null ? 404 : 200, i == null ? new JsonObject().put("error", "no such instance") : i.calls());
        });
        router.post("/_sim/instances/:name/revoke-tokens").handler(ctx -> {
            SimInstance i = instances.get(ctx.pathParam("name"));
            if (i != null) {
                i.tokens.clear();
            }
            json(ctx, i == null ? 404 : 200, new JsonObject().put("revoked", i != null));
        });
        router.post("/:instance/oauth2/token").handler(this::token);
        router.post("/:instance/*").handler(this::disassociate);
        server = vertx.createHttpServer().requestHandler(router);
        return server.listen(port, host).onSuccess(s -> log.info("Epic simulator listening on {}:{} with instances {}",
                host, s.actualPort(), instances.keySet()));
    }

    public int actualPort() {
        return server.actualPort();
    }

    private SimInstance upsert(JsonObject settings) {
        SimInstance i = instances.computeIfAbsent(settings.getString("name"), SimInstance::new);
        i.configure(settings);
        jwksCache.remove(i.name);
        return i;
    }

    private void configure(RoutingContext ctx) {
        JsonObject body = ctx.body().asJsonObject();
        if (body == null) {
            json(ctx, 400, new JsonObject().put("error", "send a JSON object of settings"));
            return;
        }
        json(ctx, 200, upsert(body.copy().put("name", ctx.pathParam("name"))).settings());
    }

    private JsonObject stats() {
        return stats(true);
    }

    private JsonObject stats(boolean withDevices) {
        JsonObject all = new JsonObject();
        instances.forEach((name, i) -> all.put(name, i.stats(withDevices)));
        return new JsonObject().put("instances", all);
    }

    private void token(RoutingContext ctx) {
        SimInstance i = instances.get(ctx.pathParam("instance"));
        if (i == null) {
            json(ctx, 404, new JsonObject().put("Message", "No such Interconnect instance"));
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
                .onSuccess(jti -> {
                    long now = System.currentTimeMillis();
                    i.usedJti.values().removeIf(expiry -> expiry < now);
                    if (i.usedJti.putIfAbsent(jti, now + 600_000) != null) {
                        refuse(ctx, i, "invalid_client", "replay", "the jti of this client assertion was used before");
                        return;
                    }
                    String token = newToken();
                    i.tokens.put(token, now + i.tokenLifetimeSeconds * 1000L);
                    i.tokensIssued.incrementAndGet();
                    json(ctx, 200, new JsonObject().put("access_token", token).put("token_type", "Bearer")
                            .put("expires_in", i.tokenLifetimeSeconds).put("scope", "system/*"));
                })
                .onFailure(e -> {
                    if (e instanceof AssertionVerifier.Refused r) {
                        refuse(ctx, i, "invalid_client", r.reason, r.getMessage());
                    } else {
                        refuse(ctx, i, "invalid_client", "jwks", "cannot read the registered JWK Set: " + e.getMessage());
                    }
                });
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

    private void disassociate(RoutingContext ctx) {
        SimInstance i = instances.get(ctx.pathParam("instance"));
        if (i == null || !ctx.request().path().endsWith("DisassociateMobileDevice")) {
            json(ctx, 404, new JsonObject().put("Message", "No HTTP resource was found that matches the request URI"));
            return;
        }
        String auth = ctx.request().getHeader("Authorization");
        Long expiry = auth != null && auth.startsWith("Bearer ") ? i.tokens.get(auth.substring(7)) : null;
        if (expiry == null || expiry < System.currentTimeMillis()) {
            i.unauthorized.incrementAndGet();
            json(ctx, 401, new JsonObject().put("Message", "Authorization has been denied for this request."));
            return;
        }
        if (!i.clientId.equals(ctx.request().getHeader("Epic-Client-ID"))) {
            json(ctx, 400, new JsonObject().put("Message", "The request is invalid.")
                    .put("ExceptionMessage", "Epic-Client-ID header missing or not this client"));
            return;
        }
        long arrivedAt = System.currentTimeMillis();
        long second = arrivedAt / 1000;
        i.recordArrival(arrivedAt);
        i.enter();
        java.util.concurrent.atomic.AtomicBoolean left = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable leave = () -> {
            if (left.compareAndSet(false, true)) {
                i.leave();
            }
        };
        ctx.response().endHandler(v -> leave.run());
        ctx.response().closeHandler(v -> leave.run()); // a hung call ends when the caller gives up and closes
        if (i.inOutage()) {
            i.injectedErrors.incrementAndGet();
            ctx.response().putHeader("Retry-After", "1");
            json(ctx, 503, new JsonObject().put("Message", "Service Unavailable"));
            return;
        }
        if (i.rateLimitPerSecond > 0) {
            if (i.windowSecond != second) {
                i.windowSecond = second;
                i.windowCount = 0;
            }
            if (++i.windowCount > i.rateLimitPerSecond) {
                i.rateLimited.incrementAndGet();
                ctx.response().putHeader("Retry-After", "1");
                json(ctx, 429, new JsonObject().put("Message", "Too many requests"));
                return;
            }
        }
        JsonObject body = ctx.body().asJsonObject();
        String device = body == null ? null : body.getString("InstallID");
        if (device == null || device.isBlank()) {
            json(ctx, 400, new JsonObject().put("Message", "The request is invalid.")
                    .put("ExceptionMessage", "InstallID is required"));
            return;
        }
        if (i.rejectDevices.contains(device)) {
            json(ctx, 400, new JsonObject().put("Message", "The request is invalid.")
                    .put("ExceptionMessage", "Device " + device + " cannot be disassociated"));
            return;
        }
        if (i.unknownDevices.contains(device)) {
            json(ctx, 404, new JsonObject().put("Message", "No mobile device was found with the given InstallID."));
            return;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        if (i.hangRate > 0 && random.nextDouble() < i.hangRate) {
            i.hung.incrementAndGet(); // never answered: the caller's request timeout has to fire
            return;
        }
        long delay = i.latencyMillis + (i.tailRate > 0 && random.nextDouble() < i.tailRate ? i.tailLatencyMillis : 0);
        Runnable answer = () -> {
            if (i.errorRate > 0 && ThreadLocalRandom.current().nextDouble() < i.errorRate) {
                i.injectedErrors.incrementAndGet();
                json(ctx, 503, new JsonObject().put("Message", "An error has occurred.").put("ExceptionMessage", "injected"));
                return;
            }
            i.recordCall(device, arrivedAt, ctx.request().getHeader("X-Request-ID")); // counted at arrival, as Epic's rate limit counts
            json(ctx, 200, new JsonObject().put("Success", true));
        };
        if (delay > 0) {
            vertx.setTimer(delay, t -> answer.run());
        } else {
            answer.run();
        }
    }

    private static void refuse(RoutingContext ctx, SimInstance i, String error, String reason, String description) {
        i.tokenFailures.computeIfAbsent(reason, r -> new AtomicLong()).incrementAndGet();
        json(ctx, 400, new JsonObject().put("error", error).put("error_description", description));
    }

    private static String newToken() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static void json(RoutingContext ctx, int status, JsonObject body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.close();
    }
}
