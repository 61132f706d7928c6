package dev.roverlogout.maintenance;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.lifecycle.PeriodicService;
import dev.roverlogout.store.LaneLeases;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Replica-row cleanup: every {@link #INTERVAL} (10 minutes) forgets dispatching replicas whose last heartbeat in
 * {@code gateway_replica} is older than {@link #GONE_AFTER} (an hour): killed pods, or ones that stopped without
 * leaving. They no longer count for the lane shares long before (two renewal periods), so this only keeps
 * {@code GET /admin/queue}'s list of replicas and the table short. Any replica may run it; the statement is idempotent.
 */
public final class ReplicaCleaner extends PeriodicService {
    /** How often the cleanup runs. */
    public static final Duration INTERVAL = Duration.ofMinutes(10);
    /** A replica silent this long is forgotten. */
    public static final Duration GONE_AFTER = Duration.ofHours(1);
    private static final Logger log = LoggerFactory.getLogger(ReplicaCleaner.class);

    private final LaneLeases leases;

    public ReplicaCleaner(Vertx vertx, Context context, LaneLeases leases) {
        super(vertx, context, false);
        this.leases = leases;
    }

    @Override
    public String name() {
        return "replica cleanup";
    }

    @Override
    protected Duration delay() {
        return INTERVAL;
    }

    @Override
    protected Future<Void> runOnce() {
        return leases.forgetGone(GONE_AFTER).onSuccess(n -> {
            if (n > 0) {
                log.info("Forgot {} replicas without a heartbeat for {}", n, GONE_AFTER);
            }
        }).mapEmpty();
    }
}
