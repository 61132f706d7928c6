package dev.roverlogout.http;

import java.util.List;
import java.util.Locale;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;

/**
 * Requests whose framing two HTTP parsers could read differently (request smuggling, docs/security.md): a front proxy
 * that reads the body by {@code Content-Length} while the gateway reads it as chunked would let a request hidden in
 * the body be answered on the same connection. Such a request is refused with 400 and its connection closed, as
 * RFC 9112 asks: both {@code Content-Length} and {@code Transfer-Encoding} (§6.1, §6.3), {@code Transfer-Encoding} in
 * an HTTP/1.0 request (§6.1: a proxy that ignores it there reads an empty body), a {@code Transfer-Encoding}
 * other than {@code chunked} alone (no other coding is ever sent to us), and a missing (HTTP/1.1) or repeated
 * {@code Host} (§3.2). Netty drops the {@code Content-Length} of a request that has both; {@link FramingDecoder} marks it.
 */
final class RequestFraming {
    private RequestFraming() {
    }

    /** Why {@code req} must be refused, in words for its problem detail, or null when its framing is unambiguous. */
    static String refusal(HttpServerRequest req) {
        List<String> transferEncoding = req.headers().getAll(HttpHeaders.TRANSFER_ENCODING);
        if (!transferEncoding.isEmpty()) {
            if (req.version() == HttpVersion.HTTP_1_0) {
                return "an HTTP/1.0 request must not carry Transfer-Encoding (RFC 9112 section 6.1)";
            }
            if (req.headers().contains(HttpHeaders.CONTENT_LENGTH) || req.headers().contains(FramingDecoder.CONFLICT_HEADER)) {
                return "a request must not carry both Content-Length and Transfer-Encoding (RFC 9112 section 6.1)";
            }
            if (transferEncoding.size() != 1
                    || !transferEncoding.get(0).trim().toLowerCase(Locale.ROOT).equals("chunked")) {
                return "Transfer-Encoding must be exactly \"chunked\" when present (RFC 9112 section 6.3)";
            }
        }
        int hosts = req.headers().getAll(HttpHeaders.HOST).size();
        if (hosts > 1) {
            return "a request must carry one Host header, not " + hosts + " (RFC 9112 section 3.2)";
        }
        if (hosts == 0 && req.version() == HttpVersion.HTTP_1_1) {
            return "an HTTP/1.1 request must carry a Host header (RFC 9112 section 3.2)";
        }
        return null;
    }
}
