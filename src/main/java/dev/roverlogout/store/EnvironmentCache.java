package dev.roverlogout.store;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.lifecycle.PeriodicService;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * Environments and their signing keys in memory, for the hot paths (lanes, tokens, the ingest 422 check): refreshed
 * per environment when PostgreSQL announces a change on {@code rlg_environment_changed} (triggers in V3, so any
 * writer on any replica counts), and fully every {@code fullRefresh} (default 30 s) as the fallback for missed
 * notifications. Reads never touch the database. Who calls: anyone, from any thread; the maps are concurrent and
 * hold immutable values. Refreshes run on the context it is given.
 */
public final class EnvironmentCache extends PeriodicService {
    public static final String CHANNEL = "rlg_environment_changed";
    private static final Logger log = LoggerFactory.getLogger(EnvironmentCache.class);

    /** One environment with its keys, oldest signing start first. */
    public record Entry(Environment environment, List<SigningKeyRow> keys) {
    }

    private final EnvironmentStore environments;
    private final SigningKeyStore keys;
    private final Duration fullRefresh;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final List<Consumer<String>> changeListeners = new CopyOnWriteArrayList<>();

    public EnvironmentCache(Vertx vertx, Context context, EnvironmentStore environments, SigningKeyStore keys,
                            Notifications notifications, Duration fullRefresh) {
        super(vertx, context, true);
        this.environments = environments;
        this.keys = keys;
        this.fullRefresh = fullRefresh;
        notifications.listen(CHANNEL, context,
                id -> refresh(id).onComplete(x -> changeListeners.forEach(l -> l.accept(id))),
                this::refreshAll); // after a reconnect: catch up on what was missed
    }

    @Override
    public String name() {
        return "environment cache";
    }

    @Override
    protected Future<Void> runOnce() {
        return refreshAll();
    }

    @Override
    protected Duration delay() {
        return fullRefresh;
    }

    /** Called with an environment id after a change to it (announced by PostgreSQL) is in this cache. */
    public void onChange(Consumer<String> listener) {
        changeListeners.add(listener);
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
