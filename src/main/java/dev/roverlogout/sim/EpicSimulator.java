package dev.roverlogout.sim;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * instance's registered JWK Set URL (fetched, cached, refetched on an unknown kid) and issues bearer tokens
 * ({@link TokenEndpoint}); {@code POST /{instance}/...DisassociateMobileDevice} checks the bearer token and records
 * the call ({@link DisassociateEndpoint}). Faults (rate limit, latency, error rate, outage, key not synced) and
 * statistics live under {@code /_sim} ({@link ControlRoutes}). This verticle owns the instances and the server.
 */
public final class EpicSimulator extends VerticleBase {
    private static final Logger log = LoggerFactory.getLogger(EpicSimulator.class);

    private final String host;
    private final int port;
    private final JsonArray initialInstances;
    private final Map<String, SimInstance> instances = new ConcurrentHashMap<>();
    private HttpServer server;

    public EpicSimulator(String host, int port, JsonArray instances) {
        this.host = host;
        this.port = port;
        this.initialInstances = instances;
    }

    @Override
    public Future<?> start() {
        TokenEndpoint token = new TokenEndpoint(vertx, WebClient.create(vertx), instances);
        DisassociateEndpoint disassociate = new DisassociateEndpoint(vertx, instances);
        ControlRoutes control = new ControlRoutes(instances, token::forgetKeys);
        initialInstances.forEach(o -> control.upsert((JsonObject) o));
        Router router = Router.router(vertx);
        router.route().handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
        control.mount(router); // before /:instance/*, which would otherwise take POST /_sim/...
        router.post("/:instance/oauth2/token").handler(token::handle);
        router.post("/:instance/*").handler(disassociate::handle);
        server = vertx.createHttpServer().requestHandler(router);
        return server.listen(port, host).onSuccess(s -> log.info("Epic simulator listening on {}:{} with instances {}",
                host, s.actualPort(), instances.keySet()));
    }

    public int actualPort() {
        return server.actualPort();
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.close();
    }

    static void json(RoutingContext ctx, int status, JsonObject body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }
}
