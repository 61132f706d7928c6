package dev.roverlogout.http;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

/** Maps every failure of a router to RFC 9457 problem details; the one place errors become responses. */
public final class Problems {
    public static final String TYPE_BASE = "urn:rover-logout-gateway:problem:";
    public static final String CONTENT_TYPE = "application/problem+json";
    private static final Logger log = LoggerFactory.getLogger(Problems.class);

    private Problems() {
    }

    /** Router failure handler: a thrown {@link Problem}, a status set by Vert.x (404, 405, 413, ...), or a fault. */
    public static void handle(RoutingContext ctx) {
        write(ctx, toProblem(ctx));
    }

    private static void write(RoutingContext ctx, Problem problem) {
        HttpServerResponse response = ctx.response();
        if (response.headWritten()) {
            ctx.request().connection().close();
            return;
        }
        problem.headers().forEach(response::putHeader);
        response.setStatusCode(problem.status())
                .putHeader("Content-Type", CONTENT_TYPE)
                .end(problem.toJson(ctx.request().path()).encode());
    }

    private static Problem toProblem(RoutingContext ctx) {
        Throwable failure = ctx.failure();
        if (failure instanceof Problem p) {
            return p;
        }
        int status = ctx.statusCode();
        if (failure == null || status != 500 && status > 0) {
            return forStatus(status > 0 ? status : 500, ctx);
        }
        log.atError().addKeyValue("requestId", ctx.response().headers().get("X-Request-ID")).setCause(failure)
                .log("Unhandled failure on {} {}", ctx.request().method(), ctx.request().path());
        return new Problem(500, "internal", "Internal error", "the gateway failed to handle this request; see its log");
    }

    private static Problem forStatus(int status, RoutingContext ctx) {
        return switch (status) {
            case 404 -> Problem.notFound("no route for " + ctx.request().path());
            case 405 -> new Problem(405, "method-not-allowed", "Method not allowed",
                    ctx.request().method() + " is not supported on " + ctx.request().path());
            case 413 -> new Problem(413, "payload-too-large", "Payload too large", "the request body is over 1 MiB");
            case 415 -> unsupportedMediaType();
            case 400 -> Problem.badRequest("malformed request");
            default -> new Problem(status, "http-" + status, "HTTP " + status, "request failed with status " + status);
        };
    }

    /**
     * Requests no route ends (a path that matched only a prefix route such as {@code /admin/*}, or none at all) get
     * problem details too, not Vert.x's HTML page.
     */
    public static void forUnmatched(io.vertx.ext.web.Router router, Port port) {
        for (int status : new int[] {400, 405, 406, 413, 415, 500}) {
            router.errorHandler(status, Problems::handle);
        }
        router.errorHandler(404, ctx -> {
            if (ctx.failure() == null) {
                write(ctx, Problem.notFound("no route for " + ctx.request().path() + port.elsewhere(ctx.request().path())));
            } else {
                handle(ctx);
            }
        });
    }

    /** The two ports, and what each says of a path the other one serves (a common mix-up in a first setup). */
    public enum Port {
        PUBLIC, MANAGEMENT;

        private static final java.util.List<String> MANAGEMENT_PATHS = java.util.List.of("/admin", "/console", "/metrics", "/health");
        private static final java.util.List<String> PUBLIC_PATHS = java.util.List.of("/v1/", "/jwks/");

        String elsewhere(String path) {
            if (this == PUBLIC && MANAGEMENT_PATHS.stream().anyMatch(path::startsWith)) {
                return " on the public port: the admin API, /console, /metrics and /health are on the management port "
                        + "(management.port, 8081 by default; 127.0.0.1 unless management.host says otherwise)";
            }
            if (this == MANAGEMENT && PUBLIC_PATHS.stream().anyMatch(path::startsWith)) {
                return " on the management port: POST /v1/checkins and /jwks/ are on the public port (http.port, 8080 "
                        + "by default)";
            }
            return "";
        }
    }

    /**
     * A first handler for every route: a path or query string that is not valid percent-encoding
     * ({@code /admin/environments/%}, {@code ?limit=%zz}) makes Vert.x throw when it matches a route or a route reads a
     * parameter, which would end as a 500; here it is a 400.
     */
    public static void requireDecodableUri(RoutingContext ctx) {
        try {
            ctx.normalizedPath();
            ctx.queryParams();
        } catch (IllegalArgumentException e) {
            ctx.fail(Problem.badRequest("the path or query string is not valid percent-encoding"));
            return;
        }
        ctx.next();
    }

    public static Problem unsupportedMediaType() {
        return new Problem(415, "unsupported-media-type", "Unsupported media type",
                "send the body as application/json");
    }
}
