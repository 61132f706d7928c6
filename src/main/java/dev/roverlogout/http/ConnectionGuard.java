package dev.roverlogout.http;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;

/**
 * What a server does against slow and abusive clients (docs/security.md): idle timeout, header size limits, a
 * deadline for each request head (slowloris: a client that trickles a byte now and then is never idle), one for each
 * request body, and a cap on open connections. One guard per server (public or management) and replica, shared by the server's verticle
 * instances; {@link #install} once per instance, on its event loop.
 *
 * <p>The head deadline: a new connection must deliver its first complete request line and headers within
 * {@code headerTimeout}; a kept-alive connection its next one within {@code idleTimeout} of the previous response.
 * The body deadline: a request must be received whole within {@code bodyTimeout} of its head, else the connection is
 * closed (a body trickled a byte now and then is never idle, and a request without its body cannot be answered). Only
 * receiving counts: once the request has ended, the time the gateway takes to answer (a group commit, a
 * test-connection) is not limited here.
 *
 * <p>A request whose framing two parsers could read differently ({@link RequestFraming}) is answered 400 and its
 * connection closed before any route sees it.
 *
 * <p>Vert.x has no connection limit of its own: a connection over the cap is accepted and closed at once (the
 * Vert.x maintainers' advice), which costs the kernel an accept but never an event-loop task beyond that.
 */
public final class ConnectionGuard {
    /** Longest request line and total header size; over them Vert.x answers 414 / 431 and closes. */
    public static final int MAX_INITIAL_LINE = 8 * 1024;
    public static final int MAX_HEADER_SIZE = 16 * 1024;

    private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);

    private final GatewayConfig.Connections config;
    private final AtomicInteger open = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicBoolean decoderWarned = new java.util.concurrent.atomic.AtomicBoolean();

    public ConnectionGuard(GatewayConfig.Connections config) {
        this.config = config;
    }

    /**
     * The server options both ports use. HTTP/2 over cleartext is off: nothing of ours speaks it, and with it on
     * Vert.x waits for the first bytes (to sniff the HTTP/2 preface) before it even reports the connection.
     */
    public HttpServerOptions serverOptions() {
        return new HttpServerOptions()
                .setIdleTimeout((int) Math.max(1, config.idleTimeout().toSeconds()))
                .setIdleTimeoutUnit(TimeUnit.SECONDS)
                .setMaxHeaderSize(MAX_HEADER_SIZE)
                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                .setHttp2ClearTextEnabled(false);
    }

    /** Installs the guard on {@code server} (of the calling verticle instance) in front of {@code requests}. */
    public HttpServer install(Vertx vertx, HttpServer server, Handler<HttpServerRequest> requests) {
        // this instance's live connections and the timer of their head deadline (NONE while a request is handled):
        // touched only on this instance's event loop, so no lock
        Map<HttpConnection, Long> live = new HashMap<>();
        long headerMillis = config.headerTimeout().toMillis();
        long nextHeadMillis = config.idleTimeout().toMillis();
        long bodyMillis = config.bodyTimeout().toMillis();
        HttpServerOptions decoderOptions = serverOptions();
        // connections refused for their framing: whatever else arrives on them is never handled
        Set<HttpConnection> refused = new HashSet<>();
        server.connectionHandler(conn -> {
            int now = open.incrementAndGet();
            if (config.maxConnections() > 0 && now > config.maxConnections()) {
                open.decrementAndGet();
                conn.close();
                return;
            }
            if (!FramingDecoder.install(conn, decoderOptions) && !decoderWarned.getAndSet(true)) {
                log.warn("Could not install the request-framing decoder (Vert.x internals changed?): requests with both "
                        + "Content-Length and Transfer-Encoding are not refused");
            }
            live.put(conn, NONE);
            conn.closeHandler(v -> {
                open.decrementAndGet();
                refused.remove(conn);
                cancel(vertx, live.remove(conn));
            });
            arm(vertx, live, conn, headerMillis);
        });
        return server.requestHandler(req -> {
            HttpConnection conn = req.connection();
            if (refused.contains(conn)) {
                conn.close();
                return;
            }
            String framing = RequestFraming.refusal(req);
            if (framing != null) {
                refuse(req, conn, framing, refused);
                return;
            }
            if (live.containsKey(conn)) {
                cancel(vertx, live.put(conn, NONE));
            }
            if (!req.isEnded()) {
                bodyDeadline(vertx, req, conn, bodyMillis);
            }
            req.response().endHandler(v -> arm(vertx, live, conn, nextHeadMillis));
            requests.handle(req);
        });
    }

    private static final long NONE = -1;

    /**
     * Answers 400 problem details and closes the connection once written: a request hidden in this one's body (or
     * pipelined behind it) is never read as a request of its own.
     */
    private static void refuse(HttpServerRequest req, HttpConnection conn, String detail, Set<HttpConnection> refused) {
        refused.add(conn);
        req.pause();
        req.response().setStatusCode(400)
                .putHeader("Content-Type", Problems.CONTENT_TYPE)
                .putHeader("Connection", "close")
                .end(Problem.badRequest(detail + "; the connection is closed").toJson(req.path()).encode())
                .onComplete(ar -> conn.close());
    }

    private static void arm(Vertx vertx, Map<HttpConnection, Long> live, HttpConnection conn, long millis) {
        if (!live.containsKey(conn)) {
            return; // closed meanwhile
        }
        long timer = vertx.setTimer(millis, t -> {
            if (live.replace(conn, t, NONE)) {
                conn.close();
            }
        });
        cancel(vertx, live.put(conn, timer));
    }

    /**
     * Closes {@code conn} unless {@code req} has been received whole within {@code millis}. A timer of its own, apart
     * from the head deadline's: an early answer (401, 413) re-arms that one while the body may still be arriving.
     * {@link HttpServerRequest#end()} is a future of its own, independent of the end handler BodyHandler sets; it
     * fails when the connection closes first, which cancels the timer too.
     */
    private static void bodyDeadline(Vertx vertx, HttpServerRequest req, HttpConnection conn, long millis) {
        long timer = vertx.setTimer(millis, t -> {
            if (!req.isEnded()) {
                conn.close();
            }
        });
        req.end().onComplete(ar -> vertx.cancelTimer(timer));
    }

    private static void cancel(Vertx vertx, Long timer) {
        if (timer != null && timer != NONE) {
            vertx.cancelTimer(timer);
        }
    }

    /** Connections open now on this server (all instances). */
    public int open() {
        return open.get();
    }
}
