package dev.roverlogout.ingest;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.lifecycle.PeriodicService;
import dev.roverlogout.store.CredentialStore;
import dev.roverlogout.store.Notifications;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * The active ingest credentials of every tenant, in memory for the ingest hot path: looked up by the SHA-256 of the
 * presented secret, reloaded when PostgreSQL announces a change ({@code rlg_credentials_changed}: a revocation is
 * refused on every replica at once) and every {@link #RELOAD} (1 s) as the fallback for a missed notification, so a
 * revoked credential is refused everywhere within about a second at worst. The same round writes when credentials
 * were last used (one statement for all used since, never per request). Each credential has its own rate-limit
 * bucket on each replica. Reads from any thread.
 */
public final class IngestCredentials extends PeriodicService {
    /** How often the credentials are reloaded (and their use written) without a notification. */
    public static final Duration RELOAD = Duration.ofSeconds(1);
    public static final String CHANNEL = "rlg_credentials_changed";
    private static final Logger log = LoggerFactory.getLogger(IngestCredentials.class);

    /** A credential as ingest uses it: its tenant, its scope (empty = all of the tenant's environments), its bucket. */
    public record Credential(String id, String tenantId, String name, Set<String> environments, IngestRateLimit rateLimit,
                             int rateLimitPerSecond) {
        /** Whether an environment of {@code environmentTenant} named {@code environmentId} is in this credential's scope. */
        public boolean allows(String environmentId, String environmentTenant) {
            return tenantId.equals(environmentTenant) && (environments.isEmpty() || environments.contains(environmentId));
        }
    }

    private final CredentialStore store;
    private final Credential staticToken;
    private volatile Map<ByteBuffer, Credential> bySecret = Map.of();
    private volatile boolean loaded;
    /** Reloads may overlap (a notification during a round): only a newer one's result replaces an older one's. */
    private final java.util.concurrent.atomic.AtomicLong started = new java.util.concurrent.atomic.AtomicLong();
    private long applied;
    private final Map<String, IngestRateLimit> buckets = new ConcurrentHashMap<>();
    private final Set<String> usedSince = ConcurrentHashMap.newKeySet();

    /** @param staticRateLimit ingest.rateLimitPerSecond: of the static ingest token, and the default of credentials */
    public IngestCredentials(Vertx vertx, Context context, CredentialStore store, Notifications notifications,
                             String staticTenant, int staticRateLimit) {
        super(vertx, context, true);
        this.store = store;
        this.staticToken = new Credential("static-ingest-token", staticTenant, "auth.ingestToken", Set.of(),
                new IngestRateLimit(staticRateLimit, System.nanoTime()), staticRateLimit);
        notifications.listen(CHANNEL, context, id -> reload(), this::reload);
    }

    @Override
    public String name() {
        return "ingest credentials";
    }

    @Override
    protected Duration delay() {
        return RELOAD;
    }

    @Override
    protected Future<Void> runOnce() {
        List<String> used = List.copyOf(usedSince);
        usedSince.removeAll(used);
        return reload().compose(x -> store.touch(used)).recover(e -> {
            usedSince.addAll(used); // written with the next round
            return Future.failedFuture(e);
        });
    }

    @Override
    protected void onStop() {
        store.touch(List.copyOf(usedSince)); // best effort: the last second of use
    }

    /** The credential of the static auth.ingestToken (tenant default, all its environments). */
    public Credential staticToken() {
        return staticToken;
    }

    /** The active credential whose secret has this SHA-256 digest; marks it used. */
    public Optional<Credential> find(byte[] secretSha256) {
        Credential c = bySecret.get(ByteBuffer.wrap(secretSha256));
        if (c != null) {
            usedSince.add(c.id());
        }
        return Optional.ofNullable(c);
    }

    /** False until the credentials were read once (the database was unreachable since start). */
    public boolean loaded() {
        return loaded;
    }

    /**
     * Reads the credentials now (the admin routes call it after a change, so that the replica that made it applies
     * it before answering; the others hear of it by notification).
     */
    public Future<Void> reload() {
        long mine = started.incrementAndGet();
        return store.active().map(all -> {
            Map<ByteBuffer, Credential> next = new HashMap<>();
            for (CredentialStore.Active a : all) {
                CredentialStore.Credential c = a.credential();
                IngestRateLimit bucket = buckets.computeIfAbsent(c.id(),
                        id -> new IngestRateLimit(c.rateLimitPerSecond(), System.nanoTime()));
                next.put(ByteBuffer.wrap(a.secretSha256()), new Credential(c.id(), c.tenantId(), c.name(),
                        c.environments() == null ? Set.of() : Set.copyOf(c.environments()), bucket, c.rateLimitPerSecond()));
            }
            synchronized (this) {
                if (mine < applied) {
                    return (Void) null; // a reload that started later has already applied a newer state
                }
                applied = mine;
                bySecret = Map.copyOf(next);
                loaded = true;
            }
            buckets.keySet().retainAll(next.values().stream().map(Credential::id).toList());
            return (Void) null;
        }).onFailure(e -> log.debug("Reloading ingest credentials failed: {}", e.getMessage()));
    }
}
