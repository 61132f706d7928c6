package dev.roverlogout.loadtest;

import java.util.concurrent.TimeUnit;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

/**
 * The driver's blocking HTTP calls for set-up, drain and accounting: the caller's thread waits for the answer.
 * Never call from the driver's context (it would wait on itself).
 */
final class BlockingHttp {
    private final WebClient http;

    BlockingHttp(WebClient http) {
        this.http = http;
    }

    /** {@code method url} with an optional bearer token and JSON body; fails naming {@code what} unless {@code expected}. */
    HttpResponse<Buffer> send(HttpMethod method, String url, String token, JsonObject body, int expected, String what)
            throws Exception {
        var req = http.requestAbs(method, url).timeout(30_000);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        HttpResponse<Buffer> r = join(body == null ? req.send() : req.sendJsonObject(body));
        if (r.statusCode() != expected) {
            throw new IllegalStateException(what + ": HTTP " + r.statusCode() + " " + r.bodyAsString());
        }
        return r;
    }

    /** The JSON object a {@code GET url} answers with 200. */
    JsonObject getJson(String url, String token) throws Exception {
        var req = http.getAbs(url).timeout(30_000);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        HttpResponse<Buffer> r = join(req.send());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + url + ": HTTP " + r.statusCode());
        }
        return r.bodyAsJsonObject();
    }

    static <T> T join(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
}
