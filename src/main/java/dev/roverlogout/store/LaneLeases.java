package dev.roverlogout.store;

import java.time.Duration;
import java.util.Optional;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * Which replica dispatches an environment: a lease row per environment with owner, expiry and a fence number
 * that grows on every takeover. Acquiring renews one's own lease or takes an expired one; the fence is stamped
 * on claimed jobs so that a replica that lost the lease cannot write outcomes any more.
 */
public final class LaneLeases {
    static final String ACQUIRE = """
            INSERT INTO lane_lease AS l (environment_id, owner, expires_at, fence)
            VALUES ($1, $2, now() + $3 * interval '1 millisecond', 1)
            ON CONFLICT (environment_id) DO UPDATE
               SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,
                   fence = CASE WHEN l.owner = EXCLUDED.owner THEN l.fence ELSE l.fence + 1 END
             WHERE l.owner = EXCLUDED.owner OR l.expires_at IS NULL OR l.expires_at < now()
            RETURNING fence
            """;
    static final String RELEASE = "UPDATE lane_lease SET expires_at = now() WHERE environment_id = $1 AND owner = $2";

    private final Pool pool;

    public LaneLeases(Pool pool) {
        this.pool = pool;
    }

    /** The fence if {@code owner} holds (or now took) the lease for {@code duration}; empty if another holds it. */
    public Future<Optional<Long>> acquire(String environmentId, String owner, Duration duration) {
        return pool.preparedQuery(ACQUIRE).execute(Tuple.of(environmentId, owner, duration.toMillis()))
                .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next().getLong(0)));
    }

    /** Gives the lease up at once (a clean stop), so another replica need not wait for it to expire. */
    public Future<Void> release(String environmentId, String owner) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(environmentId, owner)).mapEmpty();
    }
}
