package dev.roverlogout.store;

import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * Which replica dispatches an environment: a lease row per environment with owner, expiry and a fence number
 * that grows on every takeover. Acquiring renews one's own lease or takes an expired one; the fence is stamped
 * on claimed jobs so that a replica that lost the lease cannot write outcomes any more. Replicas heartbeat in
 * {@code gateway_replica} so that each can work out its fair share of the lanes.
 */
public final class LaneLeases {
    static final String ACQUIRE = """
            INSERT INTO lane_lease AS l (environment_id, owner, expires_at, fence, current_rate, circuit, reported_at)
            VALUES ($1, $2, now() + $3 * interval '1 millisecond', 1, $4, $5, now())
            ON CONFLICT (environment_id) DO UPDATE
               SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,
                   fence = CASE WHEN l.owner IS NOT DISTINCT FROM EXCLUDED.owner THEN l.fence ELSE l.fence + 1 END,
                   current_rate = EXCLUDED.current_rate, circuit = EXCLUDED.circuit, reported_at = now()
             WHERE l.owner = EXCLUDED.owner OR l.expires_at IS NULL OR l.expires_at < now()
            RETURNING fence
            """;
    /**
     * Gives the lease up: nobody, the old owner included, may take it for $3 ms (the owner's last calls leave Epic's
     * rate window before a new lane's full burst); the next owner gets a new fence.
     */
    static final String RELEASE = """
            UPDATE lane_lease SET owner = NULL, expires_at = now() + $3 * interval '1 millisecond',
                   current_rate = NULL, circuit = NULL
             WHERE environment_id = $1 AND owner = $2
            """;
    /** Heartbeat; answers the number of live replicas (this one included). */
    static final String HEARTBEAT = """
            WITH beat AS (
              INSERT INTO gateway_replica (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
            )
            SELECT 1 + count(*) FROM gateway_replica WHERE id <> $1 AND heartbeat_at > now() - $2 * interval '1 millisecond'
            """;
    /** Replicas whose last heartbeat is older than $1 ms: gone (killed, or stopped without leaving). */
    static final String FORGET_GONE = "DELETE FROM gateway_replica WHERE heartbeat_at < now() - $1 * interval '1 millisecond'";
    static final String LEAVE = "DELETE FROM gateway_replica WHERE id = $1";
    static final String HELD_BY_OTHERS = """
            SELECT environment_id FROM lane_lease WHERE owner <> $1 AND expires_at >= now()
            """;

    private final Pool pool;

    public LaneLeases(Pool pool) {
        this.pool = pool;
    }

    /**
     * The fence if {@code owner} holds (or now took) the lease for {@code duration}; empty if another holds it.
     * {@code rate} and {@code circuit} are what the owner's lane reports (null before it has a lane).
     */
    public Future<Optional<Long>> acquire(String environmentId, String owner, Duration duration, Double rate, String circuit) {
        return pool.preparedQuery(ACQUIRE).execute(Tuple.of(environmentId, owner, duration.toMillis(), rate, circuit))
                .map(rows -> rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next().getLong(0)));
    }

    /** Gives the lease up; another replica may take it after {@code quiet}. */
    public Future<Void> release(String environmentId, String owner, Duration quiet) {
        return pool.preparedQuery(RELEASE).execute(Tuple.of(environmentId, owner, quiet.toMillis())).mapEmpty();
    }

    /** Records that {@code replica} is alive; the number of replicas that heartbeat within {@code liveWithin}. */
    public Future<Integer> heartbeat(String replica, Duration liveWithin) {
        return pool.preparedQuery(HEARTBEAT).execute(Tuple.of(replica, liveWithin.toMillis()))
                .map(rows -> rows.iterator().next().getLong(0).intValue());
    }

    /** A replica that stops cleanly leaves at once, so that the others take its share without waiting. */
    public Future<Void> leave(String replica) {
        return pool.preparedQuery(LEAVE).execute(Tuple.of(replica)).mapEmpty();
    }

    /** Forgets replicas that have not heartbeat for {@code goneFor}; answers how many. */
    public Future<Integer> forgetGone(Duration goneFor) {
        return pool.preparedQuery(FORGET_GONE).execute(Tuple.of(goneFor.toMillis())).map(rows -> rows.rowCount());
    }

    /** Environments whose lease another replica holds now. */
    public Future<Set<String>> heldByOthers(String replica) {
        return pool.preparedQuery(HELD_BY_OTHERS).execute(Tuple.of(replica)).map(rows -> {
            Set<String> ids = new HashSet<>();
            rows.forEach(r -> ids.add(r.getString(0)));
            return ids;
        });
    }
}
