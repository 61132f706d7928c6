package dev.roverlogout.ingest;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import dev.roverlogout.store.CheckInEvent;
import dev.roverlogout.http.BodyText;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.Problem.FieldError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Turns a {@code POST /v1/checkins} body into events, or a 400 problem listing every bad field
 * ({@code index}, {@code field}, {@code message}). Pure: no I/O, unit-testable.
 */
public final class CheckInValidator {
    public static final int MAX_EVENTS = 1000;
    static final int MAX_ID = 128;
    private static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
    private static final Pattern PLACEHOLDER = Pattern.compile("[{}%$]");

    private CheckInValidator() {
    }

    /** @param requestId stored with each event for tracing; may be null */
    public static List<CheckInEvent> parse(Buffer body, String requestId) {
        if (body != null && !BodyText.isUtf8(body)) {
            throw Problem.badRequest("the body is not valid UTF-8");
        }
        Object root;
        try {
            root = body == null || body.length() == 0 ? null : io.vertx.core.json.Json.decodeValue(body);
        } catch (DecodeException e) {
            throw Problem.badRequest("the body is not valid JSON: " + shortMessage(e));
        }
        if (!(root instanceof JsonObject object)) {
            throw Problem.badRequest("the body must be a JSON object: one event, or {\"events\": [...]}");
        }
        if (!object.containsKey("events")) {
            return validateAll(List.of(object), null, requestId);
        }
        if (!(object.getValue("events") instanceof JsonArray array)) {
            throw Problem.validation("events must be an array", List.of(new FieldError(null, "events", "must be an array of events")));
        }
        if (array.isEmpty() || array.size() > MAX_EVENTS) {
            throw Problem.validation("a batch holds 1.." + MAX_EVENTS + " events, this one " + array.size(),
                    List.of(new FieldError(null, "events", "must hold 1.." + MAX_EVENTS + " events, got " + array.size())));
        }
        List<JsonObject> items = new ArrayList<>(array.size());
        List<FieldError> errors = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            if (array.getValue(i) instanceof JsonObject o) {
                items.add(o);
            } else {
                items.add(null);
                errors.add(new FieldError(i, "", "each event must be a JSON object"));
            }
        }
        return validateAll(items, errors, requestId);
    }

    private static List<CheckInEvent> validateAll(List<JsonObject> items, List<FieldError> earlier, String requestId) {
        List<FieldError> errors = earlier == null ? new ArrayList<>() : earlier;
        boolean batch = earlier != null;
        List<CheckInEvent> events = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            JsonObject item = items.get(i);
            if (item != null) {
                CheckInEvent e = validate(item, batch ? i : null, errors, requestId);
                if (e != null) {
                    events.add(e);
                }
            }
        }
        if (!errors.isEmpty()) {
            throw Problem.validation(detail(errors), errors);
        }
        return events;
    }

    private static CheckInEvent validate(JsonObject o, Integer index, List<FieldError> errors, String requestId) {
        int before = errors.size();
        String eventId = text(o, "eventId", true, MAX_ID, index, errors);
        String typeText = text(o, "type", false, 16, index, errors);
        String environmentId = text(o, "environmentId", true, 64, index, errors);
        String deviceId = deviceId(o, index, errors);
        OffsetDateTime occurredAt = timestamp(o, index, errors);
        String userId = text(o, "userId", false, MAX_ID, index, errors);
        String lockerId = text(o, "lockerId", false, MAX_ID, index, errors);
        CheckInEvent.Type type = CheckInEvent.Type.CHECK_IN;
        if (typeText != null) {
            try {
                type = CheckInEvent.Type.valueOf(typeText);
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError(index, "type", "must be CHECK_IN or CHECK_OUT"));
            }
        }
        if (errors.size() > before) {
            return null;
        }
        return new CheckInEvent(eventId, type, environmentId, deviceId, occurredAt, userId, lockerId, requestId);
    }

    private static String text(JsonObject o, String field, boolean required, int max, Integer index, List<FieldError> errors) {
        Object v = o.getValue(field);
        if (v == null) {
            if (required) {
                errors.add(new FieldError(index, field, "is required"));
            }
            return null;
        }
        if (!(v instanceof String s)) {
            errors.add(new FieldError(index, field, "must be a string"));
            return null;
        }
        if (s.isEmpty() || s.length() > max) {
            errors.add(new FieldError(index, field, "must be 1.." + max + " characters, got " + s.length()));
            return null;
        }
        if (s.indexOf('\u0000') >= 0) {
            errors.add(new FieldError(index, field, "must not contain NUL characters"));
            return null;
        }
        if (!BodyText.wellFormed(s)) {
            errors.add(new FieldError(index, field, "must be valid Unicode (it holds an unpaired surrogate escape)"));
            return null;
        }
        return s;
    }

    private static String deviceId(JsonObject o, Integer index, List<FieldError> errors) {
        int before = errors.size();
        String s = text(o, "deviceId", true, MAX_ID, index, errors);
        if (s == null || errors.size() > before) {
            return null;
        }
        if (PLACEHOLDER.matcher(s).find()) {
            errors.add(new FieldError(index, "deviceId", "'" + s + "' still holds an MDM placeholder: the Locker's AppConfig key "
                    + "epicRoverEpicMobileDeviceID was not expanded (it must hold the same device value as Rover's EpicMobileDeviceID)"));
            return null;
        }
        if (!DEVICE_ID.matcher(s).matches()) {
            errors.add(new FieldError(index, "deviceId", "must be 1..128 characters of A-Z a-z 0-9 . _ : -"));
            return null;
        }
        return s;
    }

    private static OffsetDateTime timestamp(JsonObject o, Integer index, List<FieldError> errors) {
        int before = errors.size();
        String s = text(o, "occurredAt", true, 64, index, errors);
        if (s == null || errors.size() > before) {
            return null;
        }
        try {
            OffsetDateTime t = OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
            if (t.getYear() < 2000 || t.getYear() > 9999) {
                errors.add(new FieldError(index, "occurredAt", "year must be 2000..9999"));
                return null;
            }
            return t;
        } catch (DateTimeParseException e) {
            errors.add(new FieldError(index, "occurredAt", "must be an RFC 3339 timestamp with offset, e.g. 2026-11-29T07:00:00Z"));
            return null;
        }
    }

    /** Where an error is: {@code events[3].occurredAt}, {@code events[2]}, or the field of a single event. */
    static String where(FieldError e) {
        String at = e.index() == null ? "" : "events[" + e.index() + "]";
        return e.field().isEmpty() ? at : at.isEmpty() ? e.field() : at + "." + e.field();
    }

    /** The detail of a 400: the one error with its place, or how many and where the first ones are. */
    static String detail(List<FieldError> errors) {
        if (errors.size() == 1) {
            return where(errors.get(0)) + ": " + errors.get(0).message() + "; nothing was stored";
        }
        List<String> places = errors.stream().map(CheckInValidator::where).distinct().toList();
        return errors.size() + " fields are invalid (" + String.join(", ", places.subList(0, Math.min(5, places.size())))
                + (places.size() > 5 ? ", ..." : "") + "); nothing was stored";
    }

    private static final java.util.regex.Pattern POSITION = java.util.regex.Pattern.compile("line: (\\d+), column: (\\d+)");

    /** The parser's complaint, first line only, with the line and column where it stopped. */
    private static String shortMessage(DecodeException e) {
        String full = String.valueOf(e.getMessage());
        int cut = full.indexOf('\n');
        String m = cut > 0 ? full.substring(0, cut) : full;
        m = m.length() > 200 ? m.substring(0, 200) : m;
        java.util.regex.Matcher at = POSITION.matcher(full);
        return at.find() ? m + " (line " + at.group(1) + ", column " + at.group(2) + ")" : m;
    }
}
