package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.List;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/** The audit trail of the management API ({@code audit_entry}): appended by the admin routes, read newest first. */
public final class AuditStore {
    static final String INSERT = """
            INSERT INTO audit_entry (actor, actor_name, via, tenant_id, action, target, request_id, outcome, status, changes)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, at
            """;
    /**
     * Newest first, before the cursor id; $1 tenants a person may see (NULL = all), $2 one tenant, $3 since, $4 action,
     * $5 cursor (id, exclusive), $6 limit.
     */
    static final String LIST = """
            SELECT id, at, actor, actor_name, via, tenant_id, action, target, request_id, outcome, status, changes
              FROM audit_entry
             WHERE ($1::text[] IS NULL OR tenant_id = ANY($1))
               AND ($2::text IS NULL OR tenant_id = $2)
               AND ($3::timestamptz IS NULL OR at >= $3)
               AND ($4::text IS NULL OR action = $4)
               AND ($5::bigint IS NULL OR id < $5)
             ORDER BY id DESC LIMIT $6
            """;

    /** One entry. {@code tenantId} null = not about one tenant (retention run, a platform-wide action). */
    public record Entry(String actor, String actorName, String via, String tenantId, String action, String target,
                        String requestId, String outcome, int status, JsonObject changes) {
    }

    private final Pool pool;

    public AuditStore(Pool pool) {
        this.pool = pool;
    }

    public Future<Long> append(Entry e) {
        return pool.preparedQuery(INSERT).execute(Tuple.tuple().addString(e.actor()).addString(e.actorName())
                        .addString(e.via()).addString(e.tenantId()).addString(e.action()).addString(e.target())
                        .addString(e.requestId()).addString(e.outcome()).addInteger(e.status()).addValue(e.changes()))
                .map(rows -> rows.iterator().next().getLong(0));
    }

    /**
     * A page, newest first. {@code visible} = the tenants the reader may see (null = all, entries without a tenant
     * included); the other filters are null when not given. Fetches one more than {@code limit} to know if more follow.
     */
    public Future<List<JsonObject>> page(List<String> visible, String tenantId, OffsetDateTime since, String action,
                                         Long before, int limit) {
        return pool.preparedQuery(LIST).execute(Tuple.tuple()
                        .addArrayOfString(visible == null ? null : visible.toArray(String[]::new))
                        .addString(tenantId).addOffsetDateTime(since).addString(action).addLong(before).addInteger(limit))
                .map(rows -> {
                    List<JsonObject> out = new java.util.ArrayList<>();
                    for (Row r : rows) {
                        out.add(new JsonObject().put("id", r.getLong(0)).put("at", r.getOffsetDateTime(1).toString())
                                .put("actor", r.getString(2)).put("actorName", r.getString(3)).put("via", r.getString(4))
                                .put("tenantId", r.getString(5)).put("action", r.getString(6)).put("target", r.getString(7))
                                .put("requestId", r.getString(8)).put("outcome", r.getString(9)).put("status", r.getInteger(10))
                                .put("changes", r.getValue(11) instanceof JsonObject o ? o : new JsonObject()));
                    }
                    return out;
                });
    }
}
