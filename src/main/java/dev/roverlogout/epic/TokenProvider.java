package dev.roverlogout.epic;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.nimbusds.jose.jwk.JWK;

import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.SigningKeyRow;
import dev.roverlogout.store.SigningKeyStore;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;

/**
 * Access tokens for Epic, per environment (contract §6). Who calls: the dispatch lanes and test connection,
 * from any event loop. A token is cached until {@link #REFRESH_BEFORE} before it expires; concurrent callers
 * without a valid token share one token request (single flight); a caller whose API call got 401 calls
 * {@link #invalidate} once and asks again. Failures carry Epic's own error text, never the assertion or a token.
 */
public final class TokenProvider {
    public static final Duration REFRESH_BEFORE = Duration.ofSeconds(60);
    static final long REQUEST_TIMEOUT_MILLIS = 10_000;

    /** A token request that Epic refused or did not answer; the message is safe to show to an admin. */
    public static final class TokenException extends RuntimeException {
        private final int status;

        public TokenException(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }

    private record Cached(String token, Instant refreshAt) {
    }

    private final Vertx vertx;
    private final WebClient client;
    private final SigningKeyStore keys;
    private final MasterKey masterKey;
    private final GatewayMetrics metrics;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final Map<String, Future<Cached>> inflight = new ConcurrentHashMap<>();
    private final Map<String, JWK> privateKeys = new ConcurrentHashMap<>();

    public TokenProvider(Vertx vertx, WebClient client, SigningKeyStore keys, MasterKey masterKey, GatewayMetrics metrics) {
        this.vertx = vertx;
        this.client = client;
        this.keys = keys;
        this.masterKey = masterKey;
        this.metrics = metrics;
    }

    /** {@code interconnectUrl} + {@code /instance} (an empty instance adds nothing). */
    public static String baseUrl(Environment env) {
        String base = env.interconnectUrl().endsWith("/")
                ? env.interconnectUrl().substring(0, env.interconnectUrl().length() - 1) : env.interconnectUrl();
        return env.instance().isEmpty() ? base : base + "/" + env.instance();
    }

    public static String tokenUrl(Environment env) {
        return baseUrl(env) + "/oauth2/token";
    }

    /** A valid access token for the environment: cached, or from one shared token request. */
    public Future<String> token(Environment env) {
        Cached cached = cache.get(env.id());
        if (cached != null && Instant.now().isBefore(cached.refreshAt())) {
            return Future.succeededFuture(cached.token());
        }
        Promise<Cached> mine = Promise.promise();
        Future<Cached> shared = inflight.putIfAbsent(env.id(), mine.future());
        if (shared != null) {
            return shared.map(Cached::token);
        }
        request(env).onComplete(ar -> {
            inflight.remove(env.id(), mine.future());
            if (ar.succeeded()) {
                cache.put(env.id(), ar.result());
            }
            mine.handle(ar);
        });
        return mine.future().map(Cached::token);
    }

    /** Drops {@code token} if it is still the cached one (the API answered 401 with it). */
    public void invalidate(String environmentId, String token) {
        cache.computeIfPresent(environmentId, (id, c) -> c.token().equals(token) ? null : c);
    }

    private Future<Cached> request(Environment env) {
        String tokenUrl = tokenUrl(env);
        String audience = env.tokenAudience() != null ? env.tokenAudience() : tokenUrl;
        return keys.keys(env.id())
                .map(all -> KeyRing.current(all, Instant.now()).orElseThrow(() ->
                        new TokenException(0, "environment " + env.id() + " has no signing key")))
                .compose(key -> vertx.executeBlocking(() -> ClientAssertion.sign(privateKey(key), env.clientId(), audience, Instant.now())))
                .compose(assertion -> post(env, tokenUrl, assertion));
    }

    private JWK privateKey(SigningKeyRow key) {
        return privateKeys.computeIfAbsent(key.kid(), kid -> SigningKeys.privateJwk(kid, key.privateJwe(), masterKey));
    }

    private Future<Cached> post(Environment env, String tokenUrl, String assertion) {
        MultiMap form = MultiMap.caseInsensitiveMultiMap()
                .add("grant_type", "client_credentials")
                .add("client_assertion_type", ClientAssertion.TYPE)
                .add("client_assertion", assertion);
        long start = System.nanoTime();
        return client.postAbs(tokenUrl).timeout(REQUEST_TIMEOUT_MILLIS).putHeader("Accept", "application/json")
                .sendForm(form)
                .transform(ar -> {
                    if (ar.failed()) {
                        metrics.epicRequest(env.id(), "token", 0, System.nanoTime() - start);
                        metrics.tokenRequest(env.id(), "unreachable");
                        return Future.failedFuture(new TokenException(0, "token endpoint " + tokenUrl + " did not answer: "
                                + ar.cause().getMessage()));
                    }
                    var r = ar.result();
                    metrics.epicRequest(env.id(), "token", r.statusCode(), System.nanoTime() - start);
                    if (r.statusCode() != 200) {
                        metrics.tokenRequest(env.id(), r.statusCode() == 400 || r.statusCode() == 401 ? "refused" : "error");
                        return Future.failedFuture(new TokenException(r.statusCode(), "token request refused ("
                                + r.statusCode() + " " + EpicOutcome.errorText(r.bodyAsString()) + ")"));
                    }
                    try {
                        JsonObject body = r.bodyAsJsonObject();
                        String token = body.getString("access_token");
                        long expiresIn = body.getLong("expires_in", 3600L);
                        if (token == null || token.isEmpty()) {
                            throw new IllegalArgumentException("no access_token");
                        }
                        metrics.tokenRequest(env.id(), "ok");
                        Duration lifetime = Duration.ofSeconds(Math.max(0, expiresIn));
                        Duration early = lifetime.compareTo(REFRESH_BEFORE.multipliedBy(2)) > 0 ? REFRESH_BEFORE : lifetime.dividedBy(2);
                        return Future.succeededFuture(new Cached(token, Instant.now().plus(lifetime).minus(early)));
                    } catch (RuntimeException e) {
                        metrics.tokenRequest(env.id(), "error");
                        return Future.failedFuture(new TokenException(200, "token endpoint answered without a usable access_token"));
                    }
                });
    }
}
