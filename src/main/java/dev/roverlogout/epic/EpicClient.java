package dev.roverlogout.epic;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Environment;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.core.buffer.Buffer;

/**
 * Calls Epic's DisassociateMobileDevice (contract §6): {@code POST {base}{disassociatePath}} with the bearer
 * token, {@code Epic-Client-ID}, {@code X-Request-ID} and {@code {"InstallID": deviceId}}. One HTTP client per
 * environment with keep-alive connections pooled to its {@code maxConcurrency}; TLS always verified, redirects
 * never followed. A 401 drops the token and retries once with a fresh one. Every answer becomes an
 * {@link EpicOutcome}; this class never throws for an Epic failure.
 */
public final class EpicClient {
    public static final long REQUEST_TIMEOUT_MILLIS = 15_000;
    static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private record Pooled(WebClient client, int size) {
    }

    private final Vertx vertx;
    private final TokenProvider tokens;
    private final GatewayMetrics metrics;
    private final Map<String, Pooled> clients = new ConcurrentHashMap<>();
    private final long requestTimeoutMillis;

    public EpicClient(Vertx vertx, TokenProvider tokens, GatewayMetrics metrics) {
        this(vertx, tokens, metrics, java.time.Duration.ofMillis(REQUEST_TIMEOUT_MILLIS));
    }

    /**
     * The HTTP timeout of a lane's calls: at most half of the job lease (the lane's own bound for the whole call),
     * so that a call the lane gave up on is really cancelled and cannot still reach Epic while its job is retried.
     */
    public static java.time.Duration requestTimeoutFor(java.time.Duration leaseDuration) {
        java.time.Duration half = leaseDuration.dividedBy(2);
        java.time.Duration max = java.time.Duration.ofMillis(REQUEST_TIMEOUT_MILLIS);
        return half.compareTo(max) < 0 ? half : max;
    }

    /** @param requestTimeout how long one call may take before it counts as a (retryable) timeout */
    public EpicClient(Vertx vertx, TokenProvider tokens, GatewayMetrics metrics, java.time.Duration requestTimeout) {
        this.vertx = vertx;
        this.tokens = tokens;
        this.metrics = metrics;
        this.requestTimeoutMillis = requestTimeout.toMillis();
    }

    /** Disassociates {@code deviceId}; the future always succeeds, with the classified outcome. */
    public Future<EpicOutcome> disassociate(Environment env, String deviceId, String requestId) {
        return attempt(env, deviceId, requestId, true);
    }

    private Future<EpicOutcome> attempt(Environment env, String deviceId, String requestId, boolean mayRetry401) {
        return tokens.token(env).transform(t -> {
            if (t.failed()) {
                String message = t.cause() instanceof TokenProvider.TokenException ? t.cause().getMessage()
                        : "no access token: " + t.cause().getMessage();
                int status = t.cause() instanceof TokenProvider.TokenException te ? te.status() : 0;
                // no token is never the device's fault: even invalid_client (a key not synced yet, a rotation gone
                // wrong) is retried with backoff rather than dead-lettering the whole backlog at once
                return Future.succeededFuture(new EpicOutcome(EpicOutcome.Kind.RETRY, status, java.util.Optional.empty(), message));
            }
            String token = t.result();
            long start = System.nanoTime();
            return client(env).postAbs(TokenProvider.baseUrl(env) + env.disassociatePath())
                    .timeout(requestTimeoutMillis)
                    .bearerTokenAuthentication(token)
                    .putHeader("Epic-Client-ID", env.clientId())
                    .putHeader("X-Request-ID", requestId)
                    .putHeader("Accept", "application/json")
                    .sendJsonObject(new JsonObject().put("InstallID", deviceId))
                    .transform(ar -> {
                        if (ar.failed()) {
                            metrics.epicRequest(env.id(), "disassociate", 0, System.nanoTime() - start);
                            return Future.succeededFuture(EpicOutcome.transportError(ar.cause()));
                        }
                        HttpResponse<Buffer> r = ar.result();
                        metrics.epicRequest(env.id(), "disassociate", r.statusCode(), System.nanoTime() - start);
                        if (r.statusCode() == 401 && mayRetry401) {
                            tokens.invalidate(env.id(), token);
                            return attempt(env, deviceId, requestId, false);
                        }
                        return Future.succeededFuture(EpicOutcome.classify(r.statusCode(), r.getHeader("Retry-After"),
                                r.bodyAsString()));
                    });
        });
    }

    /** How every call to Epic is made: TLS verified (Vert.x default), no redirects followed, bounded connect time. */
    public static WebClientOptions clientOptions() {
        return new WebClientOptions().setConnectTimeout(CONNECT_TIMEOUT_MILLIS).setFollowRedirects(false)
                .setKeepAlive(true).setUserAgent("rover-logout-gateway");
    }

    /** The environment's client, rebuilt when its maxConcurrency changed. */
    private WebClient client(Environment env) {
        Pooled pooled = clients.compute(env.id(), (id, old) -> {
            if (old != null && old.size() == env.maxConcurrency()) {
                return old;
            }
            if (old != null) {
                old.client().close();
            }
            WebClient c = WebClient.create(vertx, clientOptions(), new PoolOptions().setHttp1MaxSize(env.maxConcurrency()));
            return new Pooled(c, env.maxConcurrency());
        });
        return pooled.client();
    }

    /** Closes the client of an environment that was deleted. */
    public void forget(String environmentId) {
        Pooled p = clients.remove(environmentId);
        if (p != null) {
            p.client().close();
        }
    }
}
