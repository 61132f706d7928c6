package dev.roverlogout.store;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.pubsub.PgSubscriber;
import io.vertx.sqlclient.Pool;

/**
 * Environments and their signing keys in memory, for the hot paths (lanes, tokens): refreshed per environment
 * when PostgreSQL announces a change on {@code rlg_environment_changed} (triggers in V3, so any writer on any
 * replica counts), and fully every {@code fullRefresh} as a fallback for missed notifications. Reads never
 * touch the database. Who calls: anyone, from any thread; the maps are concurrent and hold immutable values.
 */
public final class EnvironmentCache {
    public static final String CHANNEL = "rlg_environment_changed";
    private static final Logger log = LoggerFactory.getLogger(EnvironmentCache.class);

    /** One environment with its keys, oldest signing start first. */
    public record Entry(Environment environment, List<SigningKeyRow> keys) {
    }

    private final Vertx vertx;
    private final EnvironmentStore environments;
    private final SigningKeyStore keys;
    private final PgSubscriber subscriber;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final java.util.List<java.util.function.Consumer<String>> changeListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private long timer = -1;

    public EnvironmentCache(Vertx vertx, Pool pool, String databaseUrl) {
        this.vertx = vertx;
        this.environments = new EnvironmentStore(pool);
        this.keys = new SigningKeyStore(pool);
        this.subscriber = PgSubscriber.subscriber(vertx, PgConnectOptions.fromUri(databaseUrl))
                .reconnectPolicy(attempt -> Math.min(30_000L, 500L * (1L << Math.min(attempt, 6))));
    }

    /** Loads everything and starts listening; completes when the first load is done. */
    public Future<Void> start(long fullRefreshMillis) {
        subscriber.channel(CHANNEL).handler(id -> refresh(id).onComplete(x -> changeListeners.forEach(l -> l.accept(id))))
                .subscribeHandler(v -> refreshAll()); // after a reconnect: catch up on what was missed
        timer = vertx.setPeriodic(fullRefreshMillis, t -> refreshAll());
        return subscriber.connect().recover(e -> {
            log.warn("Cannot LISTEN on {} ({}); relying on the periodic refresh", CHANNEL, e.getMessage());
            return Future.succeededFuture();
        }).compose(v -> refreshAll());
    }

    /** Called with an environment id after a change to it (announced by PostgreSQL) is in this cache. */
    public void onChange(java.util.function.Consumer<String> listener) {
        changeListeners.add(listener);
    }

    /** Also delivers notifications of {@code channel} (payload = environment id) on this cache's connection. */
    public void listen(String channel, io.vertx.core.Handler<String> handler) {
        subscriber.channel(channel).handler(handler);
    }

    public Future<Void> stop() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        return subscriber.close();
    }

    public Optional<Entry> get(String id) {
        return Optional.ofNullable(entries.get(id));
    }

    public Collection<Entry> all() {
        return entries.values();
    }

    /** Reloads one environment (or forgets it when it is gone). */
    public Future<Void> refresh(String id) {
        return environments.get(id).compose(found -> found.isEmpty()
                ? Future.succeededFuture(entries.remove(id)).<Void>mapEmpty()
                : keys.keys(id).map(k -> {
                    entries.put(id, new Entry(found.get(), List.copyOf(k)));
                    return (Void) null;
                })).onFailure(e -> log.debug("Refreshing environment {} failed: {}", id, e.getMessage()));
    }

    public Future<Void> refreshAll() {
        return environments.list().compose(all -> {
            Set<String> ids = ConcurrentHashMap.newKeySet();
            all.forEach(e -> ids.add(e.id()));
            entries.keySet().retainAll(ids);
            return Future.join(all.stream().map(e -> refresh(e.id())).toList()).<Void>mapEmpty();
        }).recover(e -> {
            log.debug("Refreshing environments failed: {}", e.getMessage());
            return Future.succeededFuture();
        });
    }
}
