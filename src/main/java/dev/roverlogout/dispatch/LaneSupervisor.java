package dev.roverlogout.dispatch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
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
    /**
     * A lane handed over is not taken by another replica for this long: the calls its old owner sent last have
     * left Epic's one-second rate window before the new owner's full burst arrives.
     */
    static final Duration HANDOVER_QUIET = Duration.ofMillis(1100);

    private final Map<String, Lane> lanes = new HashMap<>();
    /** Environments this replica gave up recently (monotonic time): not taken back at once. */
    private final Map<String, Long> released = new HashMap<>();
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

    /** Stops every lane and gives the leases up, so another replica can take over after the quiet time. */
    public Future<Void> stop() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            vertx.cancelTimer(timer);
            Set<String> ids = new HashSet<>(lanes.keySet());
            lanes.values().forEach(Lane::stop);
            lanes.clear();
            ids.forEach(id -> metrics.laneOwned(id, false));
            Future.join(ids.stream().map(id -> leases.release(id, replica, HANDOVER_QUIET)).toList())
                    .eventually(() -> leases.leave(replica)).onComplete(x -> done.complete());
        });
        return done.future();
    }

    /**
     * One round: heartbeat, work out this replica's fair share of the READY environments (ceil(ready / live
     * replicas)), give up lanes above it, renew the rest, take free ones up to it, rescue expired jobs. Lanes thus
     * spread over replicas: a replica that starts next to a busy one gets its share within a few rounds.
     */
    private void tick() {
        if (ticking) {
            tickAgain = true; // a change arrived during this round: look again right after it
            return;
        }
        ticking = true;
        tickAgain = false;
        Set<String> ready = new TreeSet<>();
        environments.all().forEach(e -> {
            if (e.environment().status() == Environment.Status.READY) {
                ready.add(e.environment().id());
            }
        });
        new HashSet<>(lanes.keySet()).stream().filter(id -> !ready.contains(id)).forEach(id -> giveUp(id, Duration.ZERO));
        // a replica whose heartbeat is older than two renewal periods is gone: its leases run out soon after
        Duration liveWithin = config.leaseDuration().multipliedBy(2).dividedBy(3);
        leases.heartbeat(replica, liveWithin).compose(live -> leases.heldByOthers(replica).compose(others -> {
            int fair = (ready.size() + live - 1) / Math.max(1, live);
            List<String> mine = new ArrayList<>(new TreeSet<>(lanes.keySet()));
            while (mine.size() > fair) {
                String id = mine.remove(mine.size() - 1);
                log.info("Replica {} hands environment {} over ({} live replicas, {} lanes each)", replica, id, live, fair);
                giveUp(id, HANDOVER_QUIET);
            }
            long now = System.nanoTime();
            released.values().removeIf(t -> now - t > HANDOVER_QUIET.toNanos() * 2);
            List<String> free = new ArrayList<>(ready.stream()
                    .filter(id -> !lanes.containsKey(id) && !others.contains(id) && !released.containsKey(id)).toList());
            Collections.shuffle(free); // replicas starting together try different environments first
            List<String> wanted = new ArrayList<>(mine);
            wanted.addAll(free.subList(0, Math.max(0, Math.min(free.size(), fair - mine.size()))));
            return Future.join(wanted.stream().map(this::renew).toList());
        })).recover(e -> {
            log.warn("Lane round failed: {}", e.getMessage());
            return Future.succeededFuture();
        }).compose(x -> jobs.rescue(1000).onSuccess(t -> {
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

    /** Stops the lane and releases its lease; {@code quiet} before another replica may take it. */
    private void giveUp(String environmentId, Duration quiet) {
        Lane lane = lanes.remove(environmentId);
        if (lane != null) {
            lane.stop();
        }
        metrics.laneOwned(environmentId, false);
        if (!quiet.isZero()) {
            released.put(environmentId, System.nanoTime());
        }
        leases.release(environmentId, replica, quiet);
    }

    private Future<Void> renew(String environmentId) {
        long started = System.nanoTime();
        Lane current = lanes.get(environmentId);
        // a lane starting now starts closed at the configured rate
        Double rate = current != null ? current.currentRate()
                : environments.get(environmentId).map(e -> e.environment().rateLimitPerSecond()).orElse(null);
        String circuit = current == null ? "closed" : current.circuit();
        return leases.acquire(environmentId, replica, config.leaseDuration(), rate, circuit).map(fence -> {
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
