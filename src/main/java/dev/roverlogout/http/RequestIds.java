package dev.roverlogout.http;

import java.util.UUID;
import java.util.regex.Pattern;

import io.vertx.ext.web.RoutingContext;

/**
 * The request id of a request: the caller's {@code X-Request-ID} when it is a sane token, else a new UUID; echoed in
 * the response header and kept on the context, so that log lines, audit rows and Epic calls can be joined on it.
 */
public final class RequestIds {
    private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final String KEY = "rlg.requestId";

    private RequestIds() {
    }

    /** Assigns the request's id (once; later calls return the same) and sets the response header. */
    public static String assign(RoutingContext ctx) {
        String id = ctx.get(KEY);
        if (id != null) {
            return id;
        }
        String given = ctx.request().getHeader("X-Request-ID");
        id = given != null && SANE.matcher(given).matches() ? given : UUID.randomUUID().toString();
        ctx.put(KEY, id);
        ctx.response().putHeader("X-Request-ID", id);
        return id;
    }
}
