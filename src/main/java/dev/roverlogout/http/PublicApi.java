package dev.roverlogout.http;

import java.util.concurrent.TimeUnit;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.ingest.CheckInRoutes;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;

/**
 * The public port: ingest and the JWKS. Deployed once per event loop; the instances share the
 * port. Stopping shuts the server down gracefully: no new connections, in-flight requests are answered.
 */
public final class PublicApi extends VerticleBase {
    private final GatewayConfig.Endpoint endpoint;
    private final CheckInRoutes checkIns;
    private final JwksRoutes jwks;
    private final BearerAuth auth;
    private final long shutdownMillis;
    private HttpServer server;

    public PublicApi(GatewayConfig.Endpoint endpoint, CheckInRoutes checkIns, JwksRoutes jwks, BearerAuth auth,
                     long shutdownMillis) {
        this.endpoint = endpoint;
        this.checkIns = checkIns;
        this.jwks = jwks;
        this.auth = auth;
        this.shutdownMillis = shutdownMillis;
    }

    @Override
    public Future<?> start() {
        Router router = Router.router(vertx);
        checkIns.mount(router, auth);
        jwks.mount(router);
        router.route().failureHandler(Problems::handle);
        server = vertx.createHttpServer(serverOptions()).requestHandler(router);
        return server.listen(endpoint.port(), endpoint.host());
    }

    static HttpServerOptions serverOptions() {
        return new HttpServerOptions()
                .setIdleTimeout(60)
                .setIdleTimeoutUnit(TimeUnit.SECONDS)
                .setMaxHeaderSize(16 * 1024)
                .setMaxInitialLineLength(8 * 1024);
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.shutdown(shutdownMillis, TimeUnit.MILLISECONDS);
    }

    /** The port actually bound (differs from the configured one when that is 0). */
    public int port() {
        return server.actualPort();
    }
}
