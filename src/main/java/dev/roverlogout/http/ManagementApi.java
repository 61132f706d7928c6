package dev.roverlogout.http;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.sqlclient.Pool;

/**
 * The management port: health, Prometheus metrics, and the admin routes passed in (all under /admin, behind the
 * admin auth handler; each request gets an X-Request-ID).
 */
public final class ManagementApi extends VerticleBase {
    private static final int MAX_ADMIN_BODY = 64 * 1024;

    private final GatewayConfig.Endpoint endpoint;
    private final io.vertx.ext.web.handler.PlatformHandler adminAuth;
    private final GatewayMetrics metrics;
    private final Pool pool;
    private final BooleanSupplier deployed;
    private final List<RouteMount> adminRoutes;
    private final ConnectionGuard guard;
    private HttpServer server;
    private Router router;

    /** @param adminAuth lets a request reach the admin routes (or answers 401/403): who the caller is, what role */
    public ManagementApi(GatewayConfig.Endpoint endpoint, io.vertx.ext.web.handler.PlatformHandler adminAuth,
                         GatewayMetrics metrics, Pool pool,
                         BooleanSupplier deployed, List<RouteMount> adminRoutes, ConnectionGuard guard) {
        this.endpoint = endpoint;
        this.guard = guard;
        this.adminAuth = adminAuth;
        this.metrics = metrics;
        this.pool = pool;
        this.deployed = deployed;
        this.adminRoutes = List.copyOf(adminRoutes);
    }

    @Override
    public Future<?> start() {
        router = Router.router(vertx);
        router.route().handler((io.vertx.ext.web.handler.PlatformHandler) Problems::requireDecodableUri);
        router.get("/health/live").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
        router.get("/health/ready").handler(this::ready);
        router.get("/metrics").handler(ctx -> ctx.response()
                .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                .end(metrics.scrape()));
        router.route("/admin/*").handler((io.vertx.ext.web.handler.PlatformHandler) ctx -> {
                    RequestIds.assign(ctx);
                    ctx.next();
                }).handler(adminAuth)
                .handler(BodyHandler.create(false).setBodyLimit(MAX_ADMIN_BODY));
        adminRoutes.forEach(r -> r.mount(router));
        router.route().failureHandler(Problems::handle);
        Problems.forUnmatched(router, Problems.Port.MANAGEMENT);
        server = guard.install(vertx, vertx.createHttpServer(guard.serverOptions()), router);
        return server.listen(endpoint.port(), endpoint.host()).recover(e -> Future.failedFuture(
                dev.roverlogout.lifecycle.StartFailure.portInUse(e, endpoint.host(), endpoint.port(), "management.port")));
    }

    /** Ready = every verticle deployed, migrations applied (before deploy), and the database answering. */
    private void ready(RoutingContext ctx) {
        if (!deployed.getAsBoolean()) {
            json(ctx, 503, new JsonObject().put("status", "DOWN").put("reason", "starting or stopping"));
            return;
        }
        pool.query("SELECT 1").execute()
                .timeout(2, TimeUnit.SECONDS)
                .onSuccess(r -> json(ctx, 200, new JsonObject().put("status", "UP").put("database", "UP")))
                .onFailure(e -> json(ctx, 503, new JsonObject().put("status", "DOWN").put("database", "DOWN")
                        .put("reason", "database unreachable")));
    }

    private static void json(RoutingContext ctx, int status, JsonObject body) {
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.shutdown(1, TimeUnit.SECONDS);
    }

    /** The routes (tests walk them to check every route's auth). */
    public Router router() {
        return router;
    }

    public int port() {
        return server.actualPort();
    }
}
