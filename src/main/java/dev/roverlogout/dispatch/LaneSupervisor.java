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
import dev.roverlogout.lifecycle.Service;
import dev.roverlogout.store.EnvironmentCache;
import dev.roverlogout.store.EventStore;
import dev.roverlogout.store.JobStore;
import dev.roverlogout.store.LaneLeases;
import dev.roverlogout.store.Notifications;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * The dispatcher: keeps one lane per READY environment whose lease this replica holds. Every third of
 * {@code dispatch.leaseDuration} it renews or takes leases and starts and stops lanes accordingly (jobs whose lease
 * ran out are the {@link Rescuer}'s). A lane trusts its lease only until {@code renewal start + leaseDuration -
 * margin} (local clock): it stops sending before another replica can take the environment over. The supervisor and
 * all its lanes live on the one context it is given (see {@code Components} for why).
 */
public final class LaneSupervisor implements Service {
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
    /** Lanes stopped but still finishing their calls: their leases are not taken again until released. */
    private final Set<String> draining = new HashSet<>();
    private boolean stopped;
    private long timer = -1;
    private boolean ticking;
    private boolean tickAgain;

    public LaneSupervisor(Vertx vertx, Context context, String replica, EnvironmentCache environments,
                          Notifications notifications, LaneLeases leases, JobStore jobs, EpicClient epic,
                          GatewayMetrics metrics, GatewayConfig.Dispatch config) {
        this.vertx = vertx;
        this.context = context;
        this.replica = replica;
        this.environments = environments;
        this.leases = leases;
        this.jobs = jobs;
        this.epic = epic;
        this.metrics = metrics;
        this.config = config;
        this.retries = new RetryPolicy(config.retryBase(), config.retryCap(), config.retryMaxAttempts(),
                () -> ThreadLocalRandom.current().nextDouble());
        // new jobs wake their lane at once; without a notification a lane polls every dispatch.pollInterval
        notifications.listen(EventStore.JOBS_QUEUED_CHANNEL, context, id -> {
            Lane lane = lanes.get(id);
            if (lane != null) {
                lane.wake();
            }
        }, null);
        // a check-out fenced a job this replica may hold unsent: the lane drops it rather than send it
        notifications.listen(EventStore.JOBS_FENCED_CHANNEL, context, payload -> {
            int colon = payload.lastIndexOf(':');
            Lane lane = colon < 0 ? null : lanes.get(payload.substring(0, colon));
            if (lane != null) {
                lane.fenced(Long.parseLong(payload.substring(colon + 1)));
            }
        }, null);
        // a status or rate change is acted on at once (a lane starts on READY, stops on PAUSE), not at the next tick
        environments.onChange(id -> context.runOnContext(x -> tick()));
    }

    @Override
    public String name() {
        return "lane supervisor";
    }

    @Override
    public Future<Void> start() {
        Promise<Void> started = Promise.promise();
        context.runOnContext(v -> {
            timer = vertx.setPeriodic(Math.max(100, config.leaseDuration().toMillis() / 3), id -> tick());
            tick();
            started.complete();
        });
        return started.future();
    }

    /**
     * Stops every lane, waits until their calls under way are answered and written, and gives the leases up, so
     * another replica can take over after the quiet time. A graceful stop repeats no call.
     */
    @Override
    public Future<Void> stop() {
        Promise<Void> done = Promise.promise();
        context.runOnContext(v -> {
            stopped = true;
            vertx.cancelTimer(timer);
            List<Future<Void>> all = new ArrayList<>();
            new HashSet<>(lanes.keySet()).forEach(id -> all.add(giveUp(id)));
            Future.join(all).eventually(() -> leases.leave(replica)).onComplete(x -> done.complete());
        });
        return done.future();
    }

    /**
     * One round: heartbeat, work out this replica's fair share of the READY environments (ceil(ready / live
     * replicas)), give up lanes above it, renew the rest, take free ones up to it. Lanes thus
     * spread over replicas: a replica that starts next to a busy one gets its share within a few rounds.
     */
    private void tick() {
        if (stopped) {
            return;
        }
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
        new HashSet<>(lanes.keySet()).stream().filter(id -> !ready.contains(id)).forEach(this::giveUp);
        // a replica whose heartbeat is older than two renewal periods is gone: its leases run out soon after
        Duration liveWithin = config.leaseDuration().multipliedBy(2).dividedBy(3);
        leases.heartbeat(replica, liveWithin).compose(live -> leases.heldByOthers(replica).compose(others -> {
            int fair = (ready.size() + live - 1) / Math.max(1, live);
            List<String> mine = new ArrayList<>(new TreeSet<>(lanes.keySet()));
            while (mine.size() > fair) {
                String id = mine.remove(mine.size() - 1);
                log.atInfo().addKeyValue("environment", id).log("Replica {} hands environment {} over ({} live replicas, {} lanes each)", replica, id, live, fair);
                giveUp(id);
            }
            // leases in their quiet time (owner NULL) are tried too; ACQUIRE refuses them until it is over
            List<String> free = new ArrayList<>(ready.stream()
                    .filter(id -> !lanes.containsKey(id) && !others.contains(id) && !draining.contains(id)).toList());
            Collections.shuffle(free); // replicas starting together try different environments first
            List<String> wanted = new ArrayList<>(mine);
            wanted.addAll(free.subList(0, Math.max(0, Math.min(free.size(), fair - mine.size()))));
            return Future.join(wanted.stream().map(this::renew).toList());
        })).recover(e -> {
            log.warn("Lane round failed: {}", e.getMessage());
            return Future.succeededFuture();
        }).onComplete(x -> {
            ticking = false;
            if (tickAgain) {
                tick();
            }
        });
    }

    /**
     * Stops the lane and, once its calls under way are answered and written, releases its lease: after the quiet
     * time any replica (this one too) may take it with a new fence. Until then the lease stays this replica's (it
     * is not renewed: the lane is gone from {@code lanes}, and its drain is shorter than the lease left).
     */
    private Future<Void> giveUp(String environmentId) {
        Lane lane = lanes.remove(environmentId);
        metrics.laneOwned(environmentId, false);
        draining.add(environmentId);
        Future<Void> drained = lane == null ? Future.succeededFuture() : lane.stop();
        return drained.compose(x -> leases.release(environmentId, replica, HANDOVER_QUIET))
                .onComplete(x -> draining.remove(environmentId))
                .onFailure(e -> log.atWarn().addKeyValue("environment", environmentId).log("Could not release the lane lease of {} (it runs out by itself): {}",
                        environmentId, e.getMessage()))
                .recover(e -> Future.succeededFuture());
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
            if (stopped) {
                if (fence.isPresent() && lane == null) { // a round that raced stop(): give the lease straight back
                    leases.release(environmentId, replica, HANDOVER_QUIET);
                }
                return null;
            }
            if (fence.isEmpty()) {
                if (lane != null) {
                    log.atWarn().addKeyValue("environment", environmentId).log("Lost the lane lease of {}; stopping its lane", environmentId);
                    lanes.remove(environmentId).stop();
                }
                metrics.laneOwned(environmentId, false);
                return null;
            }
            if (lane != null && lane.fence() != fence.get()) { // cannot happen while we held it; be safe
                lanes.remove(environmentId).stop();
                lane = null;
            }
            if (lane == null) {
                lane = new Lane(vertx, environmentId, replica, fence.get(), validUntil(started), environments, jobs, epic,
                        retries, metrics, config);
                lanes.put(environmentId, lane);
                lane.start();
                log.atInfo().addKeyValue("environment", environmentId).log("Replica {} dispatches environment {} (fence {})", replica, environmentId, fence.get());
            } else {
                lane.leaseRenewed(validUntil(started));
            }
            metrics.laneOwned(environmentId, true);
            return null;
        }).<Void>mapEmpty().recover(e -> {
            log.atWarn().addKeyValue("environment", environmentId).log("Cannot renew the lane lease of {}: {}", environmentId, e.getMessage());
            return Future.succeededFuture();
        });
    }

    /** The lease counts from before the request was sent, minus a margin for clock rate differences. */
    private long validUntil(long requestStart) {
        long lease = config.leaseDuration().toNanos();
        // the margin also separates this lane's last calls from a next owner's burst (as HANDOVER_QUIET does)
        return requestStart + lease - Math.max(lease / 10, Math.min(HANDOVER_QUIET.toNanos(), lease / 2));
    }
}
