package dev.roverlogout.dispatch;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.epic.EpicClient;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentCache;
import dev.roverlogout.store.JobStore;
import dev.roverlogout.store.LaneLeases;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * Keeps one lane per READY environment whose lease this replica holds. Every third of {@code dispatch.leaseDuration}
 * it renews or takes leases, starts and stops lanes accordingly, and rescues jobs whose lease ran out in
 * {@code sending}. A lane trusts its lease only until {@code renewal start + leaseDuration - margin} (local clock):
 * it stops sending before another replica can take the environment over. All state lives on one context.
 */
public final class LaneSupervisor {
    private static final Logger log = LoggerFactory.getLogger(LaneSupervisor.class);

    private final Vertx vertx;
    private final Context context;
    private final String replica;
    private final EnvironmentCache environments;
    private final LaneLeases leases;
    private final JobStore jobs;
    private final EpicClient epic;
    private final GatewayMetrics metrics;
    private final GatewayConfig.Dispatch config;
    private final RetryPolicy retries;
    private final Map<String, Lane> lanes = new HashMap<>();
    private long timer = -1;
    private boolean ticking;
    private boolean tickAgain;

    public LaneSupervisor(Vertx vertx, String replica, EnvironmentCache environments, LaneLeases leases, JobStore jobs,
                          EpicClient epic, GatewayMetrics metrics, GatewayConfig.Dispatch config) {
        this.vertx = vertx;
        this.context = vertx.getOrCreateContext();
        this.replica = replica;
        this.environments = environments;
        this.leases = leases;
        this.jobs = jobs;
        this.epic = epic;
        this.metrics = metrics;
        this.config = config;
        this.retries = new RetryPolicy(config.retryBase(), config.retryCap(), config.retryMaxAttempts(),
                () -> ThreadLocalRandom.current().nextDouble());
    }

    public void start() {
        // new jobs wake their lane at once; without a notification a lane polls every dispatch.pollInterval
        environments.listen(dev.roverlogout.store.EventStore.JOBS_QUEUED_CHANNEL, id -> context.runOnContext(x -> {
            Lane lane = lanes.get(id);
            if (lane != null) {
                lane.wake();
            }
        }));
        // a status or rate change is acted on at once (a lane starts on READY, stops on PAUSE), not at the next tick
        environments.onChange(id -> context.runOnContext(x -> tick()));
        context.runOnContext(v -> {
            timer = vertx.setPeriodic(Math.max(100, config.leaseDuration().toMillis() / 3), id -> tick());
            tick();
        });
    }

    /** Stops every lane and gives the leases up, so another replica can take over at once. */
    public Future<Void> stop() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            vertx.cancelTimer(timer);
            Set<String> ids = new HashSet<>(lanes.keySet());
            lanes.values().forEach(Lane::stop);
            lanes.clear();
            Future.join(ids.stream().map(id -> leases.release(id, replica)).toList()).onComplete(x -> done.complete());
        });
        return done.future();
    }

    private void tick() {
        if (ticking) {
            tickAgain = true; // a change arrived during this round: look again right after it
            return;
        }
        ticking = true;
        tickAgain = false;
        Set<String> ready = new HashSet<>();
        environments.all().forEach(e -> {
            if (e.environment().status() == Environment.Status.READY) {
                ready.add(e.environment().id());
            }
        });
        new HashSet<>(lanes.keySet()).stream().filter(id -> !ready.contains(id)).forEach(id -> {
            lanes.remove(id).stop();
            metrics.laneOwned(id, false);
            leases.release(id, replica);
        });
        Future.join(ready.stream().map(this::renew).toList())
                .compose(x -> jobs.rescue(1000).onSuccess(t -> {
                    if (!t.isEmpty()) {
                        log.info("Rescued {} jobs whose lease ran out while sending", t.size());
                    }
                }))
                .onComplete(x -> {
                    ticking = false;
                    if (tickAgain) {
                        tick();
                    }
                });
    }

    private Future<Void> renew(String environmentId) {
        long started = System.nanoTime();
        return leases.acquire(environmentId, replica, config.leaseDuration()).map(fence -> {
            Lane lane = lanes.get(environmentId);
            if (fence.isEmpty()) {
                if (lane != null) {
                    log.warn("Lost the lane lease of {}; stopping its lane", environmentId);
                    lanes.remove(environmentId).stop();
                }
                metrics.laneOwned(environmentId, false);
                return null;
            }
            if (lane != null && lane.fence() != fence.get()) {
                lane.stop();
                lane = null;
            }
            if (lane == null) {
                lane = new Lane(vertx, environmentId, replica, fence.get(), environments, jobs, epic, retries, metrics, config);
                lanes.put(environmentId, lane);
                lane.leaseValidUntil = validUntil(started);
                lane.start();
                log.info("Replica {} dispatches environment {} (fence {})", replica, environmentId, fence.get());
            } else {
                lane.leaseValidUntil = validUntil(started);
                lane.wake();
            }
            metrics.laneOwned(environmentId, true);
            return null;
        }).<Void>mapEmpty().recover(e -> {
            log.warn("Cannot renew the lane lease of {}: {}", environmentId, e.getMessage());
            return Future.succeededFuture();
        });
    }

    /** The lease counts from before the request was sent, minus a margin for clock rate differences. */
    private long validUntil(long requestStart) {
        long lease = config.leaseDuration().toNanos();
        return requestStart + lease - Math.max(lease / 10, 200_000_000L);
    }
}
