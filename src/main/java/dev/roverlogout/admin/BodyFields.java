package dev.roverlogout.admin;

import java.util.List;
import java.util.Set;

import dev.roverlogout.http.BodyText;
import dev.roverlogout.http.Problem.FieldError;
import io.vertx.core.json.JsonObject;

/** The field checks every admin body shares: unknown fields refused, text fields bounded and storable. */
final class BodyFields {
    private BodyFields() {
    }

    /** Adds an error for every field of {@code body} not in {@code known} (a misspelt field must not pass silently). */
    static void unknown(JsonObject body, Set<String> known, List<FieldError> errors) {
        for (String name : body.fieldNames()) {
            if (!known.contains(name)) {
                errors.add(new FieldError(null, name, "unknown field"));
            }
        }
    }

    /**
     * A non-blank string of at most {@code max} characters without NUL (PostgreSQL text cannot hold it) or unpaired
     * surrogates (they would be stored as '?'); null (and an error if {@code required}) when absent, null and an error
     * when not such a string.
     */
    static String text(JsonObject body, String field, boolean required, int max, List<FieldError> errors) {
        Object v = body.getValue(field);
        if (v == null) {
            if (required) {
                errors.add(new FieldError(null, field, "is required"));
            }
            return null;
        }
        if (!(v instanceof String s) || s.isBlank() || s.length() > max || s.indexOf('\u0000') >= 0 || !BodyText.wellFormed(s)) {
            errors.add(new FieldError(null, field, "must be a non-blank string of at most " + max + " characters"));
            return null;
        }
        return s;
    }
}
