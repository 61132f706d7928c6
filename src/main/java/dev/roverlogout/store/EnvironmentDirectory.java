package dev.roverlogout.store;

import java.util.Set;
import java.util.TreeSet;

import io.vertx.core.Future;

/**
 * Which environment ids exist, for the ingest 422 check without a database round trip per request: the
 * {@link EnvironmentCache} answers; a miss is refreshed from the database (an environment created a moment ago,
 * before its notification arrived, is found at once). The ingest transaction itself rejects events of an
 * environment deleted in the meantime.
 */
public final class EnvironmentDirectory {
    private final EnvironmentCache cache;

    public EnvironmentDirectory(EnvironmentCache cache) {
        this.cache = cache;
    }

    /** The ids among {@code ids} that are not environments. */
    public Future<Set<String>> unknown(Set<String> ids) {
        Set<String> missing = new TreeSet<>();
        ids.forEach(id -> {
            if (cache.get(id).isEmpty()) {
                missing.add(id);
            }
        });
        if (missing.isEmpty()) {
            return Future.succeededFuture(missing);
        }
        return Future.all(missing.stream().map(cache::refresh).toList()).map(x -> {
            missing.removeIf(id -> cache.get(id).isPresent());
            return missing;
        });
    }

    /** The tenant of a known environment (call after {@link #unknown} said it is known). */
    public java.util.Optional<String> tenantOf(String id) {
        return cache.get(id).map(e -> e.environment().tenantId());
    }

    public void added(String id) {
        cache.refresh(id);
    }

    public void removed(String id) {
        cache.refresh(id);
    }
}
