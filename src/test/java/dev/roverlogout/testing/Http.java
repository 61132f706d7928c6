package dev.roverlogout.testing;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

/** Blocking HTTP helpers for tests (real HTTP through Vert.x WebClient, awaited on the test thread). */
public final class Http implements AutoCloseable {
    private final Vertx vertx = Vertx.vertx();
    private final WebClient client = WebClient.create(vertx, new WebClientOptions().setKeepAlive(true),
            new io.vertx.core.http.PoolOptions().setHttp1MaxSize(100));

    public WebClient client() {
        return client;
    }

    public HttpResponse<Buffer> post(int port, String path, String token, JsonObject body) {
        var req = client.post(port, "127.0.0.1", path);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        return TestGateway.join(body == null ? req.send() : req.sendJsonObject(body));
    }

    public HttpResponse<Buffer> postRaw(int port, String path, String token, String contentType, Buffer body) {
        var req = client.post(port, "127.0.0.1", path);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        if (contentType != null) {
            req.putHeader("Content-Type", contentType);
        }
        return TestGateway.join(req.sendBuffer(body));
    }

    public HttpResponse<Buffer> get(int port, String path, String token) {
        var req = client.get(port, "127.0.0.1", path);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        return TestGateway.join(req.send());
    }

    public HttpResponse<Buffer> send(io.vertx.core.http.HttpMethod method, int port, String path, String token, JsonObject body) {
        var req = client.request(method, port, "127.0.0.1", path);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        return TestGateway.join(body == null ? req.send() : req.sendJsonObject(body));
    }

    @Override
    public void close() {
        client.close();
        TestGateway.join(vertx.close());
    }
}
