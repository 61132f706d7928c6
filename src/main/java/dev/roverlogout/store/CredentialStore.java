package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/**
 * Ingest credentials of tenants (V7). The secret itself is never stored or returned after creation: only its SHA-256
 * digest (to recognise it) and a short prefix (to recognise it in a list or a secret scanner's finding).
 */
public final class CredentialStore {
    static final String COLUMNS = "id, tenant_id, name, prefix, environments, rate_limit_per_second, created_at, "
            + "last_used_at, revoked_at";
    static final String INSERT = "INSERT INTO ingest_credential (id, tenant_id, name, prefix, secret_sha256, environments, "
            + "rate_limit_per_second) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " + COLUMNS;
    static final String OF_TENANT = "SELECT " + COLUMNS + " FROM ingest_credential WHERE tenant_id = $1 ORDER BY created_at, id";
    static final String REVOKE = "UPDATE ingest_credential SET revoked_at = COALESCE(revoked_at, now()) "
            + "WHERE id = $1 AND tenant_id = $2 RETURNING " + COLUMNS;
    static final String ACTIVE = "SELECT " + COLUMNS + ", secret_sha256 FROM ingest_credential WHERE revoked_at IS NULL";
    static final String TOUCH = "UPDATE ingest_credential SET last_used_at = now() WHERE id = ANY($1::text[])";

    /**
     * One credential as stored (never its secret). {@code environments} null = every environment of the tenant, now
     * and later.
     */
    public record Credential(String id, String tenantId, String name, String prefix, List<String> environments,
                             int rateLimitPerSecond, OffsetDateTime createdAt, OffsetDateTime lastUsedAt,
                             OffsetDateTime revokedAt) {
        static Credential from(Row r) {
            String[] envs = r.getArrayOfStrings(4);
            return new Credential(r.getString(0), r.getString(1), r.getString(2), r.getString(3),
                    envs == null ? null : List.of(envs), r.getInteger(5), r.getOffsetDateTime(6), r.getOffsetDateTime(7),
                    r.getOffsetDateTime(8));
        }

        public JsonObject toJson() {
            return new JsonObject().put("id", id).put("tenantId", tenantId).put("name", name).put("prefix", prefix)
                    .put("environments", environments == null ? null : new JsonArray(new ArrayList<>(environments)))
                    .put("rateLimitPerSecond", rateLimitPerSecond).put("createdAt", text(createdAt))
                    .put("lastUsedAt", text(lastUsedAt)).put("revokedAt", text(revokedAt));
        }
    }

    /** An active credential with the digest of its secret, for the in-memory directory of every replica. */
    public record Active(Credential credential, byte[] secretSha256) {
    }

    private final Pool pool;

    public CredentialStore(Pool pool) {
        this.pool = pool;
    }

    public Future<Credential> create(String id, String tenantId, String name, String prefix, byte[] secretSha256,
                                     List<String> environments, int rateLimitPerSecond) {
        Tuple t = Tuple.of(id, tenantId, name, prefix, Buffer.buffer(secretSha256),
                environments == null ? null : environments.toArray(String[]::new), rateLimitPerSecond);
        return pool.preparedQuery(INSERT).execute(t).map(rows -> Credential.from(rows.iterator().next()));
    }

    public Future<List<Credential>> ofTenant(String tenantId) {
        return pool.preparedQuery(OF_TENANT).execute(Tuple.of(tenantId)).map(rows -> {
            List<Credential> all = new ArrayList<>();
            rows.forEach(r -> all.add(Credential.from(r)));
            return all;
        });
    }

    /** Revokes (idempotent: the first revocation's time stays); empty when the tenant has no such credential. */
    public Future<Optional<Credential>> revoke(String tenantId, String id) {
        return pool.preparedQuery(REVOKE).execute(Tuple.of(id, tenantId))
                .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(Credential.from(rows.iterator().next())));
    }

    public Future<List<Active>> active() {
        return pool.query(ACTIVE).execute().map(rows -> {
            List<Active> all = new ArrayList<>();
            rows.forEach(r -> all.add(new Active(Credential.from(r), r.getBuffer(9).getBytes())));
            return all;
        });
    }

    /** Marks credentials used now (one statement for all, at most once a second per replica). */
    public Future<Void> touch(List<String> ids) {
        return ids.isEmpty() ? Future.succeededFuture()
                : pool.preparedQuery(TOUCH).execute(Tuple.of(ids.toArray(String[]::new))).mapEmpty();
    }

    private static String text(OffsetDateTime t) {
        return t == null ? null : t.toString();
    }
}
