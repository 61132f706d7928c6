package dev.roverlogout.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;

/**
 * What the same PostgreSQL does alone (issue 5, "the limit, side by side"): transactions of 100 rows generated
 * server-side, inserted into one table with device_event's row shape and indexes, from several connections at
 * once. The gateway's ingest is then stated as a ratio of this. The table is the baseline's own
 * ({@code loadtest_baseline_rows}), emptied before and dropped after.
 */
public final class Baseline {
    static final String CREATE = "CREATE TABLE IF NOT EXISTS loadtest_baseline_rows "
            + "(LIKE device_event INCLUDING DEFAULTS INCLUDING INDEXES)";
    static final String INSERT = """
            INSERT INTO loadtest_baseline_rows (environment_id, event_id, type, device_id, occurred_at, outcome, locker_id)
            SELECT 'baseline', md5(random()::text || g), 'CHECK_IN', 'd-' || md5(random()::text || g), now(), 'queued', 'locker-1'
              FROM generate_series(1, 100) g
            """;

    private Baseline() {
    }

    /** Measures for {@code seconds} with {@code connections} connections; rows per second and transactions. */
    public static JsonObject run(String databaseUrl, double seconds, int connections) throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(databaseUrl))
                    .with(new PoolOptions().setMaxSize(connections)).using(vertx).build();
            join(pool.query(CREATE).execute().compose(x -> pool.query("TRUNCATE loadtest_baseline_rows").execute()));
            AtomicLong transactions = new AtomicLong();
            long end = System.nanoTime() + Math.round(seconds * 1e9);
            long start = System.nanoTime();
            List<Future<Void>> loops = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                Promise<Void> done = Promise.promise();
                loop(pool, end, transactions, done);
                loops.add(done.future());
            }
            join(Future.all(loops));
            double elapsed = (System.nanoTime() - start) / 1e9;
            join(pool.query("DROP TABLE loadtest_baseline_rows").execute());
            join(pool.close());
            long tx = transactions.get();
            return new JsonObject().put("method", "100-row INSERT ... SELECT generate_series transactions into a table "
                            + "LIKE device_event INCLUDING INDEXES").put("connections", connections).put("seconds", elapsed)
                    .put("transactions", tx).put("rowsPerSecond", tx * 100 / elapsed);
        } finally {
            join(vertx.close());
        }
    }

    private static void loop(Pool pool, long end, AtomicLong transactions, Promise<Void> done) {
        if (System.nanoTime() >= end) {
            done.complete();
            return;
        }
        pool.query(INSERT).execute().onComplete(ar -> {
            if (ar.failed()) {
                done.fail(ar.cause());
                return;
            }
            transactions.incrementAndGet();
            loop(pool, end, transactions, done);
        });
    }

    private static <T> T join(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
    }
}
