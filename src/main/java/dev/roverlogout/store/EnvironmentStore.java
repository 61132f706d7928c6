package dev.roverlogout.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

/** Epic environments and their status history. Every status change is recorded with actor and reason. */
public final class EnvironmentStore {
    static final String INSERT = "INSERT INTO environment (id, display_name, interconnect_url, instance, client_id, "
            + "rate_limit_per_second, burst, max_concurrency, signing_algorithm, disassociate_path, token_audience, "
            + "allow_insecure, tenant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING "
            + "RETURNING " + Environment.COLUMNS;
    static final String SELECT_ONE = "SELECT " + Environment.COLUMNS + " FROM environment WHERE id = $1";
    static final String SELECT_ALL = "SELECT " + Environment.COLUMNS + " FROM environment ORDER BY id";
    static final String LOCK_STATUS = "SELECT status FROM environment WHERE id = $1 FOR UPDATE";
    static final String SET_STATUS = "UPDATE environment SET status = $2, updated_at = now() WHERE id = $1 RETURNING "
            + Environment.COLUMNS;
    static final String RECORD_CHANGE = "INSERT INTO environment_status_change (environment_id, from_status, to_status, "
            + "actor, reason) VALUES ($1, $2, $3, $4, $5)";
    static final String HISTORY = "SELECT from_status, to_status, actor, reason, changed_at FROM environment_status_change "
            + "WHERE environment_id = $1 ORDER BY changed_at DESC, id DESC LIMIT 100";
    static final String OPEN_JOBS = "SELECT count(*) FROM disassociation_job WHERE environment_id = $1 "
            + "AND state IN ('queued', 'sending')";
    // device_event and disassociation_job carry no foreign key (see V1__schema.sql): delete them explicitly
    static final String DELETE_EVENTS = "DELETE FROM device_event WHERE environment_id = $1";
    static final String DELETE_ATTEMPTS = """
            DELETE FROM job_attempt a USING disassociation_job j WHERE a.job_id = j.id AND j.environment_id = $1
            """;
    static final String DELETE_JOBS = "DELETE FROM disassociation_job WHERE environment_id = $1";
    static final String DELETE_DEVICES = "DELETE FROM device WHERE environment_id = $1";
    static final String DELETE = "DELETE FROM environment WHERE id = $1";

    /** Columns a PATCH may set, by API field name. The only strings ever spliced into SQL. */
    public static final Map<String, String> PATCHABLE = Map.ofEntries(
            Map.entry("displayName", "display_name"), Map.entry("interconnectUrl", "interconnect_url"),
            Map.entry("instance", "instance"), Map.entry("clientId", "client_id"),
            Map.entry("rateLimitPerSecond", "rate_limit_per_second"), Map.entry("burst", "burst"),
            Map.entry("maxConcurrency", "max_concurrency"), Map.entry("signingAlgorithm", "signing_algorithm"),
            Map.entry("disassociatePath", "disassociate_path"), Map.entry("tokenAudience", "token_audience"),
            Map.entry("allowInsecure", "allow_insecure"));

    /** A status change that the current status does not allow. */
    public static final class TransitionRefused extends RuntimeException {
        public TransitionRefused(String message) {
            super(message, null, false, false);
        }
    }

    /** A delete refused because jobs are still open. */
    public static final class OpenJobs extends RuntimeException {
        private final long count;

        OpenJobs(long count) {
            super(count + " jobs are queued or being sent", null, false, false);
            this.count = count;
        }

        public long count() {
            return count;
        }
    }

    private final Pool pool;

    public EnvironmentStore(Pool pool) {
        this.pool = pool;
    }

    /** Creates a PENDING environment with its first signing key; empty when the id exists. */
    public Future<Optional<Environment>> create(Environment e, SigningKeyRow firstKey, String actor) {
        Tuple t = Tuple.of(e.id(), e.displayName(), e.interconnectUrl(), e.instance(), e.clientId(),
                e.rateLimitPerSecond(), e.burst(), e.maxConcurrency(), e.signingAlgorithm(), e.disassociatePath(),
                e.tokenAudience(), e.allowInsecure()).addString(e.tenantId());
        return pool.withTransaction(conn -> conn.preparedQuery(INSERT).execute(t).compose(rows -> {
            if (rows.size() == 0) {
                return Future.succeededFuture(Optional.<Environment>empty());
            }
            Environment created = Environment.from(rows.iterator().next());
            return SigningKeyStore.insert(conn, firstKey)
                    .compose(v -> record(conn, created.id(), null, created.status().name(), actor, "created"))
                    .map(v -> Optional.of(created));
        }));
    }

    public Future<Optional<Environment>> get(String id) {
        return pool.preparedQuery(SELECT_ONE).execute(Tuple.of(id)).map(rows ->
                rows.size() == 0 ? Optional.empty() : Optional.of(Environment.from(rows.iterator().next())));
    }

    public Future<List<Environment>> list() {
        return pool.query(SELECT_ALL).execute().map(rows -> {
            List<Environment> all = new ArrayList<>();
            rows.forEach(r -> all.add(Environment.from(r)));
            return all;
        });
    }

    /** Sets the named columns (API field → value, already validated); empty when the id does not exist. */
    public Future<Optional<Environment>> patch(String id, Map<String, Object> fields) {
        if (fields.isEmpty()) {
            return get(id);
        }
        StringBuilder sql = new StringBuilder("UPDATE environment SET ");
        Tuple t = Tuple.tuple().addValue(id);
        int n = 2;
        for (Map.Entry<String, Object> f : fields.entrySet()) {
            sql.append(PATCHABLE.get(f.getKey())).append(" = $").append(n++).append(", ");
            t.addValue(f.getValue());
        }
        sql.append("updated_at = now() WHERE id = $1 RETURNING ").append(Environment.COLUMNS);
        return pool.preparedQuery(sql.toString()).execute(t).map(rows ->
                rows.size() == 0 ? Optional.empty() : Optional.of(Environment.from(rows.iterator().next())));
    }

    /**
     * Moves the environment to {@code to} if its status is in {@code from} (already {@code to}: no change, not
     * recorded). Fails with {@link TransitionRefused} otherwise; empty when the id does not exist.
     */
    public Future<Optional<Environment>> changeStatus(String id, Set<Environment.Status> from, Environment.Status to,
                                                      String actor, String reason) {
        return pool.withTransaction(conn -> conn.preparedQuery(LOCK_STATUS).execute(Tuple.of(id)).compose(rows -> {
            if (rows.size() == 0) {
                return Future.succeededFuture(Optional.<Environment>empty());
            }
            Environment.Status current = Environment.Status.valueOf(rows.iterator().next().getString(0));
            if (current == to) {
                return conn.preparedQuery(SELECT_ONE).execute(Tuple.of(id))
                        .map(r -> Optional.of(Environment.from(r.iterator().next())));
            }
            if (!from.contains(current)) {
                return Future.failedFuture(new TransitionRefused("environment " + id + " is " + current
                        + "; this route moves " + from + " to " + to));
            }
            return conn.preparedQuery(SET_STATUS).execute(Tuple.of(id, to.name()))
                    .compose(updated -> record(conn, id, current.name(), to.name(), actor, reason)
                            .map(v -> Optional.of(Environment.from(updated.iterator().next()))));
        }));
    }

    /** The newest status changes first, as JSON for the environment view. */
    public Future<JsonArray> statusHistory(String id) {
        return pool.preparedQuery(HISTORY).execute(Tuple.of(id)).map(rows -> {
            JsonArray a = new JsonArray();
            rows.forEach(r -> a.add(new JsonObject().put("from", r.getString(0)).put("to", r.getString(1))
                    .put("actor", r.getString(2)).put("reason", r.getString(3))
                    .put("at", r.getOffsetDateTime(4).toString())));
            return a;
        });
    }

    /**
     * Deletes the environment with its jobs and events. Refused with {@link OpenJobs} while jobs are queued or
     * being sent, unless {@code force}. Completes with false when the id does not exist.
     */
    public Future<Boolean> delete(String id, boolean force) {
        return pool.withTransaction(conn -> conn.preparedQuery(LOCK_STATUS).execute(Tuple.of(id)).compose(rows -> {
            if (rows.size() == 0) {
                return Future.succeededFuture(false);
            }
            return conn.preparedQuery(OPEN_JOBS).execute(Tuple.of(id)).compose(count -> {
                long open = count.iterator().next().getLong(0);
                if (open > 0 && !force) {
                    return Future.failedFuture(new OpenJobs(open));
                }
                return conn.preparedQuery(DELETE_EVENTS).execute(Tuple.of(id))
                        .compose(r -> conn.preparedQuery(DELETE_ATTEMPTS).execute(Tuple.of(id)))
                        .compose(r -> conn.preparedQuery(DELETE_JOBS).execute(Tuple.of(id)))
                        .compose(r -> conn.preparedQuery(DELETE_DEVICES).execute(Tuple.of(id)))
                        .compose(r -> conn.preparedQuery(DELETE).execute(Tuple.of(id)))
                        .map(r -> true);
            });
        }));
    }

    private static Future<Void> record(SqlConnection conn, String id, String from, String to, String actor, String reason) {
        return conn.preparedQuery(RECORD_CHANGE).execute(Tuple.of(id, from, to, actor, reason)).mapEmpty();
    }
}
