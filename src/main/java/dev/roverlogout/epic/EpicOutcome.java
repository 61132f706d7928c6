package dev.roverlogout.epic;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * What an Epic answer means for a disassociation job (contract §6): 2xx done; 404 not associated (final);
 * 408/425/429/5xx retried (honouring Retry-After); any other 4xx a permanent failure. Transport errors and
 * timeouts are retried too ({@link #transportError}). Pure: one small, unit-tested function.
 */
public record EpicOutcome(Kind kind, int status, Optional<Duration> retryAfter, String error) {
    public enum Kind { DONE, NOT_ASSOCIATED, RETRY, PERMANENT }

    /** Epic's messages are a sentence or two; longer text is cut here. */
    private static final int MAX_ERROR = 300;

    public static EpicOutcome classify(int status, String retryAfterHeader, String body) {
        if (status >= 200 && status < 300) {
            return new EpicOutcome(Kind.DONE, status, Optional.empty(), null);
        }
        String error = status + " " + errorText(body);
        if (status == 404) {
            return new EpicOutcome(Kind.NOT_ASSOCIATED, status, Optional.empty(), error);
        }
        if (status == 408 || status == 425 || status == 429 || status >= 500) {
            return new EpicOutcome(Kind.RETRY, status, retryAfter(retryAfterHeader), error);
        }
        return new EpicOutcome(Kind.PERMANENT, status, Optional.empty(), error);
    }

    public static EpicOutcome transportError(Throwable t) {
        return new EpicOutcome(Kind.RETRY, 0, Optional.empty(), "no answer from Epic: " + transportText(t));
    }

    /**
     * Epic's own words from an error body: {@code {"Message","ExceptionMessage"}} or OAuth
     * {@code {"error","error_description"}}, cut short. Never the body itself: an admin may point an environment at
     * any server the SSRF rules allow, and what that server answers must not come back through test-connection or
     * the device history (the gateway is no proxy for reading internal services).
     */
    public static String errorText(String body) {
        if (body == null || body.isBlank()) {
            return "(empty body)";
        }
        try {
            JsonObject o = new JsonObject(body);
            String text = join(o.getValue("Message"), o.getValue("ExceptionMessage"));
            if (text.isEmpty()) {
                text = join(o.getValue("error"), o.getValue("error_description"));
            }
            if (!text.isEmpty()) {
                return truncate(text);
            }
        } catch (DecodeException | ClassCastException e) {
            // not JSON: said below without quoting it
        }
        return "(a " + body.length() + "-character answer without Epic's error fields; not quoted)";
    }

    /**
     * What went wrong on the way to Epic, in words safe to store and show: the messages of local failures (refused,
     * unreachable, unknown host, timeout, TLS) as they are; for anything else (a server that answered something that
     * is not HTTP, whose parser error would quote its bytes) only the kind of failure.
     */
    public static String transportText(Throwable failure) {
        Throwable t = failure;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        boolean local = t instanceof java.net.ConnectException || t instanceof java.net.UnknownHostException
                || t instanceof java.net.NoRouteToHostException || t instanceof java.util.concurrent.TimeoutException
                || t instanceof io.netty.channel.ConnectTimeoutException || t instanceof javax.net.ssl.SSLException
                || t instanceof java.security.cert.CertificateException
                || t instanceof java.nio.channels.ClosedChannelException
                || t instanceof io.vertx.core.http.HttpClosedException;
        if (local && t.getMessage() != null) {
            return truncate(t.getMessage());
        }
        return local ? t.getClass().getSimpleName()
                : "the server's answer was not a valid HTTP response (" + t.getClass().getSimpleName() + "; not quoted)";
    }

    /** Retry-After as seconds or an HTTP date; empty when absent or unreadable. */
    static Optional<Duration> retryAfter(String header) {
        if (header == null || header.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(header.trim()))));
        } catch (NumberFormatException notSeconds) {
            try {
                Duration d = Duration.between(ZonedDateTime.now(), ZonedDateTime.parse(header.trim(), DateTimeFormatter.RFC_1123_DATE_TIME));
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (RuntimeException unreadable) {
                return Optional.empty();
            }
        }
    }

    private static String join(Object a, Object b) {
        String first = a instanceof String s ? s.trim() : "";
        String second = b instanceof String s ? s.trim() : "";
        return first.isEmpty() ? second : second.isEmpty() ? first : first + ": " + second;
    }

    private static String truncate(String s) {
        String oneLine = s.replaceAll("[\\s\\p{Cntrl}]+", " ").trim();
        return oneLine.length() > MAX_ERROR ? oneLine.substring(0, MAX_ERROR) + "…" : oneLine;
    }
}
