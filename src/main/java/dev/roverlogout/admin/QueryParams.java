package dev.roverlogout.admin;

import java.util.List;

import dev.roverlogout.http.Problem;
import io.vertx.ext.web.RoutingContext;

/** The query parameters the admin lists share: {@code limit}, and the 400 that names a bad one. */
final class QueryParams {
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;

    private QueryParams() {
    }

    /** The {@code limit} parameter: 1..{@value #MAX_LIMIT}, {@value #DEFAULT_LIMIT} when absent or empty. */
    static int limit(RoutingContext ctx) {
        String value = ctx.queryParams().get("limit");
        if (value == null || value.isEmpty()) {
            return DEFAULT_LIMIT;
        }
        try {
            int n = Integer.parseInt(value);
            if (n >= 1 && n <= MAX_LIMIT) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw invalid("limit", "must be a whole number from 1 to " + MAX_LIMIT);
    }

    /** 400 naming the parameter and what is wrong with it. */
    static Problem invalid(String name, String message) {
        return Problem.validation("invalid " + name, List.of(new Problem.FieldError(null, name, message)));
    }
}
