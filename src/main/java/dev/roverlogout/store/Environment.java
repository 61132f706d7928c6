package dev.roverlogout.store;

import java.time.OffsetDateTime;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;

/**
 * One Epic environment as stored. {@code tokenAudience} may be null (then the token URL is the audience); the
 * environment belongs to tenant {@code tenantId} for good.
 */
public record Environment(
        String id,
        String displayName,
        String interconnectUrl,
        String instance,
        String clientId,
        double rateLimitPerSecond,
        int burst,
        int maxConcurrency,
        String signingAlgorithm,
        String disassociatePath,
        String tokenAudience,
        boolean allowInsecure,
        Status status,
        OffsetDateTime createdAt,
        OffsetDateTime updatedAt,
        String tenantId) {

    public enum Status {
        PENDING, READY, PAUSED, DISABLED;

        /** Check-ins for READY and PAUSED environments queue a job; PENDING and DISABLED ones are skipped. */
        public boolean queuesCheckIns() {
            return this == READY || this == PAUSED;
        }
    }

    static final String COLUMNS = "id, display_name, interconnect_url, instance, client_id, rate_limit_per_second, burst, "
            + "max_concurrency, signing_algorithm, disassociate_path, token_audience, allow_insecure, status, created_at, updated_at, "
            + "tenant_id";

    static Environment from(Row r) {
        return new Environment(r.getString(0), r.getString(1), r.getString(2), r.getString(3), r.getString(4),
                r.getDouble(5), r.getInteger(6), r.getInteger(7), r.getString(8), r.getString(9), r.getString(10),
                r.getBoolean(11), Status.valueOf(r.getString(12)), r.getOffsetDateTime(13), r.getOffsetDateTime(14),
                r.getString(15));
    }

    /** The API view (contract §5): every field plus status and the JWKS URL to register with Epic. */
    public JsonObject toJson(String publicBaseUrl) {
        JsonObject o = new JsonObject()
                .put("id", id)
                .put("tenantId", tenantId)
                .put("displayName", displayName)
                .put("interconnectUrl", interconnectUrl)
                .put("instance", instance)
                .put("clientId", clientId)
                .put("rateLimitPerSecond", rateLimitPerSecond)
                .put("burst", burst)
                .put("maxConcurrency", maxConcurrency)
                .put("signingAlgorithm", signingAlgorithm)
                .put("disassociatePath", disassociatePath)
                .put("tokenAudience", tokenAudience)
                .put("allowInsecure", allowInsecure)
                .put("status", status.name())
                .put("jwksUrl", publicBaseUrl + "/jwks/" + id + ".json")
                .put("createdAt", createdAt.toString())
                .put("updatedAt", updatedAt.toString());
        return o;
    }
}
