package dev.roverlogout.http;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpMessage;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Vert.x's HTTP/1.x request decoder, except that a request carrying both {@code Content-Length} and
 * {@code Transfer-Encoding} is marked for {@link RequestFraming} to refuse. Netty drops the {@code Content-Length}
 * of such a request and reads its body as chunked (RFC 9112 §6.3 allows that to a server that then closes the
 * connection), so without the mark nothing after the decoder could tell it apart from a well-framed chunked request.
 *
 * <p>This reaches into Vert.x internals (the connection's Netty pipeline, the decoder class); {@code
 * RequestFramingTest} fails if an upgrade moves them, and {@link #install} leaves the pipeline alone when it cannot
 * find the decoder.
 */
final class FramingDecoder extends VertxHttpRequestDecoder {
    /** Set by the decoder only; a client that sends it itself gets the 400 it asked for. */
    static final String CONFLICT_HEADER = "x-rlg-content-length-with-transfer-encoding";

    private FramingDecoder(HttpServerOptions options) {
        super(options);
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        message.headers().set(CONFLICT_HEADER, "1");
        super.handleTransferEncodingChunkedWithContentLength(message);
    }

    /**
     * Puts this decoder in place of Vert.x's on a new HTTP/1.x connection. Called from the server's connection handler,
     * on the connection's event loop before its first bytes are read. False when the pipeline is not as expected.
     */
    static boolean install(HttpConnection conn, HttpServerOptions options) {
        if (!(conn instanceof ConnectionBase base)) {
            return false;
        }
        ChannelPipeline pipeline = base.channel().pipeline();
        if (!(pipeline.get("httpDecoder") instanceof VertxHttpRequestDecoder)) {
            return false;
        }
        pipeline.replace("httpDecoder", "httpDecoder", new FramingDecoder(options));
        return true;
    }
}
