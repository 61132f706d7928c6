package dev.roverlogout.store;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

/** Tenants: the customer organisations that environments and ingest credentials belong to. */
public final class TenantStore {
    static final String COLUMNS = "t.id, t.display_name, t.created_at, t.updated_at, "
            + "(SELECT count(*) FROM environment e WHERE e.tenant_id = t.id)";
    static final String INSERT = "INSERT INTO tenant (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id";
    static final String SELECT_ONE = "SELECT " + COLUMNS + " FROM tenant t WHERE t.id = $1";
    static final String SELECT_ALL = "SELECT " + COLUMNS + " FROM tenant t ORDER BY t.id";
    static final String RENAME = "UPDATE tenant SET display_name = $2, updated_at = now() WHERE id = $1 RETURNING id";
    /** Locks the tenant against a concurrent environment create (the FK takes a share lock on the row). */
    static final String LOCK = "SELECT (SELECT count(*) FROM environment e WHERE e.tenant_id = t.id) FROM tenant t WHERE t.id = $1 FOR UPDATE";
    static final String DELETE = "DELETE FROM tenant WHERE id = $1";

    /** One tenant, with how many environments it has. */
    public record Tenant(String id, String displayName, OffsetDateTime createdAt, OffsetDateTime updatedAt, long environments) {
        static Tenant from(Row r) {
            return new Tenant(r.getString(0), r.getString(1), r.getOffsetDateTime(2), r.getOffsetDateTime(3), r.getLong(4));
        }

        public JsonObject toJson() {
            return new JsonObject().put("id", id).put("displayName", displayName).put("environments", environments)
                    .put("createdAt", createdAt.toString()).put("updatedAt", updatedAt.toString());
        }
    }

    /** A delete refused: the tenant still has environments. */
    public static final class TenantInUse extends RuntimeException {
        private final long environments;

        TenantInUse(long environments) {
            super("the tenant has " + environments + " environments", null, false, false);
            this.environments = environments;
        }

        public long environments() {
            return environments;
        }
    }

    private final Pool pool;

    public TenantStore(Pool pool) {
        this.pool = pool;
    }

    /** Creates the tenant; empty when the id exists. */
    public Future<Optional<Tenant>> create(String id, String displayName) {
        return pool.preparedQuery(INSERT).execute(Tuple.of(id, displayName))
                .compose(rows -> rows.size() == 0 ? Future.succeededFuture(Optional.<Tenant>empty()) : get(id));
    }

    public Future<Optional<Tenant>> get(String id) {
        return pool.preparedQuery(SELECT_ONE).execute(Tuple.of(id))
                .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(Tenant.from(rows.iterator().next())));
    }

    public Future<List<Tenant>> list() {
        return pool.query(SELECT_ALL).execute().map(rows -> {
            List<Tenant> all = new ArrayList<>();
            rows.forEach(r -> all.add(Tenant.from(r)));
            return all;
        });
    }

    /** New display name; empty when the tenant does not exist. */
    public Future<Optional<Tenant>> rename(String id, String displayName) {
        return pool.preparedQuery(RENAME).execute(Tuple.of(id, displayName))
                .compose(rows -> rows.size() == 0 ? Future.succeededFuture(Optional.<Tenant>empty()) : get(id));
    }

    /**
     * Deletes the tenant and its credentials; fails with {@link TenantInUse} while it has environments. False when it
     * does not exist.
     */
    public Future<Boolean> delete(String id) {
        return pool.withTransaction(conn -> conn.preparedQuery(LOCK).execute(Tuple.of(id)).compose(rows -> {
            if (rows.size() == 0) {
                return Future.succeededFuture(false);
            }
            long environments = rows.iterator().next().getLong(0);
            if (environments > 0) {
                return Future.failedFuture(new TenantInUse(environments));
            }
            return conn.preparedQuery(DELETE).execute(Tuple.of(id)).map(r -> true);
        })).recover(e -> Future.failedFuture(e instanceof io.vertx.pgclient.PgException pg && "23503".equals(pg.getSqlState())
                ? new TenantInUse(1) : e)); // an environment created meanwhile
    }
}
