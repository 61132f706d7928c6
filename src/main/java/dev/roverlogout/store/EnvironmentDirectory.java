package dev.roverlogout.store;

import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * Which environment ids exist, for the ingest 422 check without a database round trip per request. A miss is
 * checked against the database (an environment created on another replica is found at once); deletes on this
 * replica are forgotten at once, on other replicas at the next refresh (and the ingest transaction itself
 * rejects events of an environment that no longer exists).
 */
public final class EnvironmentDirectory {
    static final String EXISTING = "SELECT id FROM environment WHERE id = ANY($1::text[])";
    static final String ALL = "SELECT id FROM environment";

    private final Pool pool;
    private final Set<String> known = ConcurrentHashMap.newKeySet();

    public EnvironmentDirectory(Pool pool) {
        this.pool = pool;
    }

    /** Reloads every id, now and then every {@code periodMillis}. */
    public Future<Void> start(Vertx vertx, long periodMillis) {
        vertx.setPeriodic(periodMillis, id -> refresh());
        return refresh().recover(e -> Future.succeededFuture());
    }

    public Future<Void> refresh() {
        return pool.query(ALL).execute().map(rows -> {
            Set<String> ids = ConcurrentHashMap.newKeySet();
            rows.forEach(r -> ids.add(r.getString(0)));
            known.retainAll(ids);
            known.addAll(ids);
            return null;
        });
    }

    /** The ids among {@code ids} that are not environments. */
    public Future<Set<String>> unknown(Set<String> ids) {
        Set<String> missing = new TreeSet<>();
        ids.forEach(id -> {
            if (!known.contains(id)) {
                missing.add(id);
            }
        });
        if (missing.isEmpty()) {
            return Future.succeededFuture(missing);
        }
        return pool.preparedQuery(EXISTING).execute(Tuple.of(missing.toArray(String[]::new))).map(rows -> {
            rows.forEach(r -> {
                known.add(r.getString(0));
                missing.remove(r.getString(0));
            });
            return missing;
        });
    }

    public void added(String id) {
        known.add(id);
    }

    public void removed(String id) {
        known.remove(id);
    }
}
