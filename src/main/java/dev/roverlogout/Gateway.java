package dev.roverlogout;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.lifecycle.Lifecycle;
import dev.roverlogout.maintenance.RetentionCleaner;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Database;
import dev.roverlogout.store.EnvironmentCache;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.ext.web.Router;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;

/**
 * One running gateway: its own Vert.x, database and services. {@link #start} opens the {@link Foundation} (blocking
 * work, on a worker thread), checks the master key, wires the {@link Components} and starts them in order;
 * {@link #stop} stops them in reverse within the shutdown budget, then closes the pool and the embedded database.
 */
public final class Gateway {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final GatewayConfig config;
    private final Vertx vertx;
    private final String replicaId;
    private final Foundation foundation;
    private final Components components;
    private final Lifecycle lifecycle;
    /** True from the end of start until stop begins: what /health/ready reports besides the database. */
    private final AtomicBoolean ready;
    private final Promise<Void> stopped = Promise.promise(); // no context: it completes after Vert.x is closed
    private final AtomicBoolean stopping = new AtomicBoolean();

    private Gateway(GatewayConfig config, Vertx vertx, String replicaId, Foundation foundation, Components components,
                    AtomicBoolean ready) {
        this.config = config;
        this.vertx = vertx;
        this.replicaId = replicaId;
        this.foundation = foundation;
        this.components = components;
        this.lifecycle = new Lifecycle(vertx);
        this.ready = ready;
    }

    public static Future<Gateway> start(GatewayConfig config) {
        GatewayMetrics metrics = new GatewayMetrics();
        Vertx vertx = Vertx.builder()
                // no vertx_net_client_* and vertx_sql_* meters: each PostgreSQL client (the pool, the LISTEN
                // connection, the retention cleaner's) registers the same untagged gauges again, which Micrometer
                // warns about at start; the database's health is rlg_database_up, and HTTP client and server meters stay
                .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
                        .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.NET_CLIENT)
                        .addDisabledMetricsCategory("sql")))
                .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
                .build();
        String replicaId = newReplicaId();
        Promise<Gateway> started = Promise.promise(); // no context: it may complete after Vert.x is closed
        vertx.executeBlocking(() -> Foundation.open(config)).onComplete(opened -> {
            if (opened.failed()) {
                log.error("Gateway failed to start: {}", opened.cause().getMessage());
                vertx.close().onComplete(x -> started.fail(opened.cause()));
                return;
            }
            AtomicBoolean ready = new AtomicBoolean();
            Components components;
            try {
                components = Components.wire(vertx, config, opened.result(), metrics, replicaId, ready::get);
            } catch (RuntimeException e) {
                log.error("Gateway failed to start: {}", e.getMessage());
                vertx.executeBlocking(() -> {
                    opened.result().close();
                    return null;
                }).onComplete(x -> vertx.close().onComplete(y -> started.fail(e)));
                return;
            }
            Gateway gateway = new Gateway(config, vertx, replicaId, opened.result(), components, ready);
            opened.result().masterKey().verifyAgainst(components.signingKeys())
                    .compose(x -> gateway.lifecycle.startAll(components.services()))
                    .onSuccess(x -> {
                        ready.set(true);
                        log.info("Gateway ready: public API on {}:{}, management on {}:{}", config.http().host(),
                                gateway.publicPort(), config.management().host(), gateway.managementPort());
                        started.complete(gateway);
                    })
                    .onFailure(e -> {
                        log.error("Gateway failed to start: {}", e.getMessage());
                        gateway.stop().onComplete(x -> started.fail(e));
                    });
        });
        return started.future();
    }

    /**
     * Graceful stop: not ready at once, then every service in reverse order of start (the public port answers its
     * in-flight requests, the lanes finish their calls and hand their leases over), the pool, the embedded database,
     * Vert.x. Completes when everything is closed. Never fails; a second call gets the first call's future.
     */
    public Future<Void> stop() {
        if (stopping.getAndSet(true)) {
            return stopped.future();
        }
        ready.set(false);
        lifecycle.stopAll(shutdownWaitMillis(config) - 5_000)
                .transform(x -> components.pool().close())
                .transform(x -> vertx.executeBlocking(() -> {
                    foundation.close();
                    return null;
                }))
                .onComplete(x -> vertx.close().onComplete(y -> {
                    log.info("Gateway stopped");
                    stopped.complete();
                }));
        return stopped.future();
    }

    /** The routes of the public port (of one of its verticle instances; they are all alike). */
    public Router publicRouter() {
        return components.publicApi().instance().router();
    }

    /** The routes of the management port. */
    public Router managementRouter() {
        return components.managementApi().instance().router();
    }

    /** This replica's name in lane leases, job attempts and /admin/queue. */
    public String replicaId() {
        return replicaId;
    }

    /** The host (pod) name plus a per-start suffix. */
    private static String newReplicaId() {
        String host = System.getenv().getOrDefault("HOSTNAME", "gateway");
        return host + "-" + Long.toString(new java.security.SecureRandom().nextLong() & 0xffffffL, 36);
    }

    public int publicPort() {
        return foundation.publicPort();
    }

    public int managementPort() {
        return foundation.managementPort();
    }

    public String token(BearerAuth.Role role) {
        return foundation.tokens().get(role);
    }

    /** Environments and keys in memory, kept current across replicas (LISTEN/NOTIFY). */
    public EnvironmentCache environments() {
        return components.environments();
    }

    /** The retention cleaner (tests and benchmarks run it now with {@code runOnce}). */
    public RetentionCleaner retention() {
        return components.retention();
    }

    public Database database() {
        return foundation.database();
    }

    public Vertx vertx() {
        return vertx;
    }

    public GatewayConfig config() {
        return config;
    }

    /** How long a signal handler waits for {@link #stop}: the public port's grace plus 30 s for lanes and the rest. */
    static long shutdownWaitMillis(GatewayConfig config) {
        return TimeUnit.MILLISECONDS.convert(config.shutdownTimeout()) + 30_000;
    }
}
