package dev.roverlogout.http;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * An RFC 9457 problem, thrown anywhere in a route and written once by {@link Problems#handle}.
 * Carries no stack trace: it is an answer, not a fault.
 */
public final class Problem extends RuntimeException {
    private final int status;
    private final String slug;
    private final String title;
    private final Map<String, Object> extensions = new LinkedHashMap<>();
    private final Map<String, String> headers = new LinkedHashMap<>();

    public Problem(int status, String slug, String title, String detail) {
        super(detail, null, false, false);
        this.status = status;
        this.slug = slug;
        this.title = title;
    }

    /** One per-field error, as in the contract's {@code errors} array. */
    public record FieldError(Integer index, String field, String message) {
        JsonObject toJson() {
            JsonObject o = new JsonObject();
            if (index != null) {
                o.put("index", index);
            }
            return o.put("field", field).put("message", message);
        }
    }

    public static Problem validation(String detail, List<FieldError> errors) {
        return new Problem(400, "validation", "Invalid request", detail).errors(errors);
    }

    public static Problem badRequest(String detail) {
        return validation(detail, List.of());
    }

    public static Problem notFound(String detail) {
        return new Problem(404, "not-found", "Not found", detail);
    }

    public static Problem conflict(String detail) {
        return new Problem(409, "conflict", "Conflict", detail);
    }

    public static Problem unavailable(String detail, long retryAfterSeconds) {
        return new Problem(503, "unavailable", "Service unavailable", detail)
                .header("Retry-After", Long.toString(Math.max(1, retryAfterSeconds)));
    }

    public Problem errors(List<FieldError> errors) {
        JsonArray a = new JsonArray();
        errors.forEach(e -> a.add(e.toJson()));
        extensions.put("errors", a);
        return this;
    }

    public Problem with(String name, Object value) {
        extensions.put(name, value);
        return this;
    }

    public Problem header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    /** An extension member set with {@link #with}, or null. */
    public Object extension(String name) {
        return extensions.get(name);
    }

    public int status() {
        return status;
    }

    public Map<String, String> headers() {
        return headers;
    }

    public JsonObject toJson(String instance) {
        JsonObject o = new JsonObject()
                .put("type", Problems.TYPE_BASE + slug)
                .put("title", title)
                .put("status", status)
                .put("detail", getMessage());
        if (instance != null) {
            o.put("instance", instance);
        }
        extensions.forEach(o::put);
        return o;
    }
}
