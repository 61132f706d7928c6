package dev.roverlogout.http;

import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.roverlogout.config.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;

/**
 * The public port: the routes passed in (ingest and the JWKS). Deployed once per event loop; the instances share the
 * port. Stopping shuts the server down gracefully: no new connections, in-flight requests are answered.
 */
public final class PublicApi extends VerticleBase {
    private final GatewayConfig.Endpoint endpoint;
    private final List<RouteMount> routes;
    private final long shutdownMillis;
    private final ConnectionGuard guard;
    private HttpServer server;
    private Router router;

    public PublicApi(GatewayConfig.Endpoint endpoint, List<RouteMount> routes, long shutdownMillis, ConnectionGuard guard) {
        this.endpoint = endpoint;
        this.routes = List.copyOf(routes);
        this.shutdownMillis = shutdownMillis;
        this.guard = guard;
    }

    @Override
    public Future<?> start() {
        router = Router.router(vertx);
        router.route().handler((io.vertx.ext.web.handler.PlatformHandler) Problems::requireDecodableUri);
        routes.forEach(r -> r.mount(router));
        router.route().failureHandler(Problems::handle);
        Problems.forUnmatched(router, Problems.Port.PUBLIC);
        server = guard.install(vertx, vertx.createHttpServer(guard.serverOptions()), router);
        return server.listen(endpoint.port(), endpoint.host()).recover(e -> Future.failedFuture(
                dev.roverlogout.lifecycle.StartFailure.portInUse(e, endpoint.host(), endpoint.port(), "http.port")));
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.shutdown(shutdownMillis, TimeUnit.MILLISECONDS);
    }

    /** This instance's routes (tests walk them to check every route's auth). */
    public Router router() {
        return router;
    }

    /** The port actually bound (differs from the configured one when that is 0). */
    public int port() {
        return server.actualPort();
    }
}
