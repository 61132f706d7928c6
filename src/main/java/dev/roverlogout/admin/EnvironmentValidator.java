package dev.roverlogout.admin;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import dev.roverlogout.epic.OutboundAddresses;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.Problem.FieldError;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentStore;
import io.vertx.core.json.JsonObject;

/**
 * Validates environment bodies (contract §5) for create and patch, collecting every bad field. Unknown fields are
 * refused: a misspelt {@code ratelimitPerSecond} silently ignored would leave Epic's limit unguarded.
 */
public final class EnvironmentValidator {
    /** Our default DisassociateMobileDevice path; confirm it with the customer's Epic team, it is per environment. */
    public static final String DEFAULT_DISASSOCIATE_PATH = "/api/epic/2023/Security/MobileDevice/DisassociateMobileDevice";
    public static final int DEFAULT_MAX_CONCURRENCY = 8;
    static final Pattern ID = Pattern.compile("[a-z0-9-]{1,64}");
    private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9._~-]{0,100}");
    private static final Pattern PATH = Pattern.compile("/[A-Za-z0-9._~/-]{0,300}");
    private static final Set<String> CREATE_ONLY = Set.of("id", "tenantId");
    /** The tenant of an environment created without {@code tenantId} (and of the static ingest token). */
    public static final String DEFAULT_TENANT = "default";

    private final List<FieldError> errors = new ArrayList<>();
    private final JsonObject body;

    private EnvironmentValidator(JsonObject body) {
        this.body = body;
    }

    /**
     * A complete new environment (status PENDING), or a 400 problem. {@code privateAllowed}: whether its URLs may name
     * loopback and private networks (the platform allows them and a platform administrator asks).
     */
    public static Environment forCreate(JsonObject body, boolean privateAllowed) {
        EnvironmentValidator v = new EnvironmentValidator(body);
        v.refuseUnknown(true);
        String id = v.string("id", true, 64);
        if (id != null && !ID.matcher(id).matches()) {
            v.error("id", "must be 1..64 characters of a-z 0-9 -");
        }
        String tenant = v.string("tenantId", false, 64);
        if (tenant != null && !ID.matcher(tenant).matches()) {
            v.error("tenantId", "must be 1..64 characters of a-z 0-9 -");
        }
        Map<String, Object> f = v.fields(true);
        boolean insecure = (Boolean) f.getOrDefault("allowInsecure", false);
        v.checkUrls(f, insecure, privateAllowed, privateAllowed);
        v.throwIfInvalid();
        double rate = (Double) f.get("rateLimitPerSecond");
        return new Environment(id, (String) f.getOrDefault("displayName", id), (String) f.get("interconnectUrl"),
                (String) f.getOrDefault("instance", ""), (String) f.get("clientId"), rate,
                (Integer) f.getOrDefault("burst", (int) Math.max(1, Math.ceil(rate))),
                (Integer) f.getOrDefault("maxConcurrency", DEFAULT_MAX_CONCURRENCY),
                (String) f.getOrDefault("signingAlgorithm", "ES384"),
                (String) f.getOrDefault("disassociatePath", DEFAULT_DISASSOCIATE_PATH),
                (String) f.get("tokenAudience"), insecure, Environment.Status.PENDING, null, null,
                tenant == null ? DEFAULT_TENANT : tenant);
    }

    /**
     * The fields a PATCH names, validated against the merged result; or a 400 problem. The private-network rule
     * ({@code privateAllowed}) applies to the URLs the PATCH names: a URL a platform administrator set stays when a
     * hospital's admin renames the environment.
     */
    public static Map<String, Object> forPatch(JsonObject body, Environment current, boolean privateAllowed) {
        EnvironmentValidator v = new EnvironmentValidator(body);
        v.refuseUnknown(false);
        Map<String, Object> f = v.fields(false);
        Map<String, Object> merged = new LinkedHashMap<>();
        merged.put("interconnectUrl", current.interconnectUrl());
        merged.put("tokenAudience", current.tokenAudience());
        merged.putAll(f);
        v.checkUrls(merged, (Boolean) f.getOrDefault("allowInsecure", current.allowInsecure()),
                privateAllowed || !f.containsKey("interconnectUrl"), privateAllowed || !f.containsKey("tokenAudience"));
        v.throwIfInvalid();
        return f;
    }

    private void refuseUnknown(boolean create) {
        for (String name : body.fieldNames()) {
            if (EnvironmentStore.PATCHABLE.containsKey(name) || create && CREATE_ONLY.contains(name)) {
                continue;
            }
            error(name, switch (name) {
                case "status" -> "is changed with POST /admin/environments/{id}/activate, /pause, /resume or /disable";
                case "id" -> "cannot be changed";
                case "tenantId" -> "cannot be changed: an environment stays with its tenant (create it anew in the other)";
                default -> "unknown field";
            });
        }
    }

    private Map<String, Object> fields(boolean create) {
        Map<String, Object> f = new LinkedHashMap<>();
        putIfPresent(f, "displayName", string("displayName", false, 200));
        putIfPresent(f, "interconnectUrl", string("interconnectUrl", create, 500));
        putIfPresent(f, "instance", pattern("instance", INSTANCE, "must be letters, digits or . _ ~ - (a single path segment), or empty"));
        putIfPresent(f, "clientId", string("clientId", create, 200));
        Double rate = number("rateLimitPerSecond", create, 0.001, 100_000);
        putIfPresent(f, "rateLimitPerSecond", rate);
        putIfPresent(f, "burst", integer("burst", 1, 100_000));
        putIfPresent(f, "maxConcurrency", integer("maxConcurrency", 1, 1000));
        String alg = string("signingAlgorithm", false, 10);
        if (alg != null && !alg.equals("ES384") && !alg.equals("RS384")) {
            error("signingAlgorithm", "must be ES384 or RS384");
        }
        putIfPresent(f, "signingAlgorithm", alg);
        putIfPresent(f, "disassociatePath", pattern("disassociatePath", PATH, "must be a path starting with /"));
        if (body.containsKey("tokenAudience")) {
            f.put("tokenAudience", body.getValue("tokenAudience") == null ? null : string("tokenAudience", false, 500));
        }
        if (body.containsKey("allowInsecure")) {
            if (body.getValue("allowInsecure") instanceof Boolean b) {
                f.put("allowInsecure", b);
            } else {
                error("allowInsecure", "must be true or false");
            }
        }
        return f;
    }

    private void checkUrls(Map<String, Object> f, boolean insecure, boolean privateUrl, boolean privateAudience) {
        url("interconnectUrl", (String) f.get("interconnectUrl"), insecure, privateUrl);
        url("tokenAudience", (String) f.get("tokenAudience"), insecure, privateAudience);
    }

    private void url(String field, String value, boolean insecure, boolean privateAllowed) {
        if (value == null) {
            return;
        }
        try {
            URI uri = new URI(value);
            if (uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
                error(field, "must be an absolute URL without credentials, query or fragment");
            } else if (!"https".equals(uri.getScheme()) && !(insecure && "http".equals(uri.getScheme()))) {
                error(field, "must use https (plain http only with allowInsecure: true, for tests and the simulator)");
            } else if (OutboundAddresses.refusedHost(uri.getHost(), privateAllowed) != null) {
                // SSRF: refused even with allowInsecure, which is about TLS, not about where requests may go
                error(field, "host " + uri.getHost() + " " + OutboundAddresses.refusedHost(uri.getHost(), privateAllowed));
            }
        } catch (URISyntaxException e) {
            error(field, "is not a valid URL");
        }
    }

    private String string(String field, boolean required, int max) {
        return BodyFields.text(body, field, required, max, errors);
    }

    private String pattern(String field, Pattern p, String message) {
        Object v = body.getValue(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s) || !p.matcher(s).matches()) {
            error(field, message);
            return null;
        }
        return s;
    }

    private Double number(String field, boolean required, double min, double max) {
        Object v = body.getValue(field);
        if (v == null) {
            if (required) {
                error(field, "is required");
            }
            return null;
        }
        if (!(v instanceof Number n) || !(n.doubleValue() >= min && n.doubleValue() <= max)) {
            error(field, "must be a number in " + min + ".." + (long) max);
            return null;
        }
        return n.doubleValue();
    }

    private Integer integer(String field, int min, int max) {
        Object v = body.getValue(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < min || ((Number) v).longValue() > max) {
            error(field, "must be a whole number in " + min + ".." + max);
            return null;
        }
        return ((Number) v).intValue();
    }

    private static void putIfPresent(Map<String, Object> f, String name, Object value) {
        if (value != null) {
            f.put(name, value);
        }
    }

    private void error(String field, String message) {
        errors.add(new FieldError(null, field, message));
    }

    private void throwIfInvalid() {
        if (!errors.isEmpty()) {
            throw Problem.validation(errors.size() == 1 ? errors.get(0).field() + " " + errors.get(0).message()
                    : errors.size() + " fields are invalid", errors);
        }
    }
}
