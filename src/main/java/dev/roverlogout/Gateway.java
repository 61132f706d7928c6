package dev.roverlogout;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.admin.EnvironmentRoutes;
import dev.roverlogout.admin.OperationsRoutes;
import dev.roverlogout.admin.KeyRoutes;
import dev.roverlogout.dispatch.LaneSupervisor;
import dev.roverlogout.epic.ConnectionTester;
import dev.roverlogout.epic.EpicClient;
import dev.roverlogout.epic.MasterKey;
import dev.roverlogout.epic.ReadinessProber;
import dev.roverlogout.epic.TokenProvider;
import dev.roverlogout.http.JwksRoutes;
import dev.roverlogout.store.DatabaseStartException;
import dev.roverlogout.store.SigningKeyStore;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.http.ConnectionGuard;
import dev.roverlogout.http.ManagementApi;
import dev.roverlogout.http.PublicApi;
import dev.roverlogout.http.TokenStore;
import dev.roverlogout.ingest.CheckInRoutes;
import dev.roverlogout.ingest.GroupCommitter;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.Database;
import dev.roverlogout.store.EnvironmentCache;
import dev.roverlogout.store.EnvironmentDirectory;
import dev.roverlogout.store.EnvironmentStore;
import dev.roverlogout.store.EventStore;
import dev.roverlogout.store.JobStore;
import dev.roverlogout.store.OperationsStore;
import dev.roverlogout.store.LaneLeases;
import dev.roverlogout.store.QueueStats;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.sqlclient.Pool;

/**
 * One running gateway: its own Vert.x, database pool and servers. {@link #start} does the blocking parts
 * (embedded PostgreSQL, migrations, token file) on a worker thread; {@link #stop} drains in order: stop taking
 * requests, answer the ones in flight, close the pool, stop the embedded database.
 */
public final class Gateway {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);
    private static final String MASTER_KEY_CHECK = "master-key-check";

    private final GatewayConfig config;
    private final Vertx vertx;
    private final AtomicBoolean deployed = new AtomicBoolean();
    private final AtomicReference<PublicApi> publicApi = new AtomicReference<>();
    private final AtomicReference<ManagementApi> managementApi = new AtomicReference<>();
    private final String replicaId = newReplicaId();
    private Database database;
    private Map<BearerAuth.Role, String> tokens;
    private MasterKey masterKey;
    private Pool pool;
    private GroupCommitter committer;
    private QueueStats queueStats;
    private ReadinessProber prober;
    private EnvironmentCache environmentCache;
    private LaneSupervisor lanes;
    private long lagTimer = -1;
    private String publicDeployment;
    private String managementDeployment;
    private int publicPort;
    private int managementPort;

    private Gateway(GatewayConfig config, Vertx vertx) {
        this.config = config;
        this.vertx = vertx;
    }

    public static Future<Gateway> start(GatewayConfig config) {
        GatewayMetrics metrics = new GatewayMetrics();
        Vertx vertx = Vertx.builder()
                .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)))
                .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
                .build();
        Gateway gateway = new Gateway(config, vertx);
        Promise<Gateway> started = Promise.promise(); // no context: it may complete after Vert.x is closed
        gateway.boot(metrics).onComplete(ar -> {
            if (ar.succeeded()) {
                log.info("Gateway ready: public API on {}:{}, management on {}:{}", config.http().host(),
                        gateway.publicPort, config.management().host(), gateway.managementPort);
                started.complete(gateway);
            } else {
                log.error("Gateway failed to start: {}", ar.cause().getMessage());
                gateway.stop().onComplete(x -> started.fail(ar.cause()));
            }
        });
        return started.future();
    }

    private Future<Void> boot(GatewayMetrics metrics) {
        return vertx.executeBlocking(() -> {
            database = Database.open(config.database());
            tokens = TokenStore.resolve(config.auth(), config.dataDir());
            masterKey = MasterKey.resolve(config.masterKey(), config.dataDir(), !config.database().embedded());
            publicPort = portOrFree(config.http().port());
            managementPort = portOrFree(config.management().port());
            return null;
        }).compose(v -> {
            pool = database.pool(vertx, config.database());
            queueStats = new QueueStats(vertx, pool, metrics);
            environmentCache = new EnvironmentCache(vertx, pool, database.url());
            EnvironmentDirectory directory = new EnvironmentDirectory(environmentCache);
            committer = new GroupCommitter(vertx, new EventStore(pool), metrics, queueStats, config.ingest());
            BearerAuth auth = new BearerAuth(tokens);
            CheckInRoutes checkIns = new CheckInRoutes(committer, directory, queueStats, metrics, config.ingest());
            SigningKeyStore signingKeys = new SigningKeyStore(pool);
            KeyRoutes keyRoutes = new KeyRoutes(signingKeys, masterKey, config.keys(), config.publicBaseUrl());
            EnvironmentStore environmentStore = new EnvironmentStore(pool);
            WebClient epic = WebClient.create(vertx, EpicClient.clientOptions()); // token requests, test connection
            TokenProvider tokens = new TokenProvider(vertx, epic, signingKeys, masterKey, metrics);
            prober = new ReadinessProber(vertx, environmentStore, tokens, config.epic().readinessProbeInterval());
            lanes = new LaneSupervisor(vertx, replicaId, environmentCache, new LaneLeases(pool), new JobStore(pool),
                    new EpicClient(vertx, tokens, metrics, EpicClient.requestTimeoutFor(config.dispatch().leaseDuration())), metrics,
                    config.dispatch());
            EnvironmentRoutes environments = new EnvironmentRoutes(environmentStore, directory, keyRoutes,
                    new ConnectionTester(vertx, epic, tokens, config.publicBaseUrl()), config.publicBaseUrl());
            OperationsRoutes operations = new OperationsRoutes(new OperationsStore(pool), environmentStore);
            JwksRoutes jwks = new JwksRoutes(signingKeys, config.keys().retireAfter());
            GatewayConfig.Endpoint publicEndpoint = new GatewayConfig.Endpoint(config.http().host(), publicPort);
            GatewayConfig.Endpoint managementEndpoint = new GatewayConfig.Endpoint(config.management().host(), managementPort);
            long shutdownMillis = config.shutdownTimeout().toMillis();
            ConnectionGuard publicGuard = new ConnectionGuard(config.connections());
            ConnectionGuard managementGuard = new ConnectionGuard(config.connections());
            return checkMasterKey(signingKeys)
                    .compose(x -> Future.all(queueStats.start(config.queueStatsInterval()), environmentCache.start(30_000)))
                    .compose(x -> vertx.deployVerticle(() -> remember(managementApi, new ManagementApi(managementEndpoint,
                            auth, metrics, pool, deployed::get, environments, operations, managementGuard)),
                            new DeploymentOptions()))
                    .compose(id -> {
                        managementDeployment = id;
                        return vertx.deployVerticle(() -> remember(publicApi,
                                new PublicApi(publicEndpoint, checkIns, jwks, auth, shutdownMillis, publicGuard)),
                                new DeploymentOptions().setInstances(Math.max(1, Runtime.getRuntime().availableProcessors())));
                    })
                    .map(id -> {
                        publicDeployment = id;
                        prober.start();
                        long[] last = {System.nanoTime()};
                        lagTimer = vertx.setPeriodic(1000, t -> { // event-loop lag, for /metrics
                            long now = System.nanoTime();
                            metrics.eventLoopLag(now - last[0] - 1_000_000_000L);
                            last[0] = now;
                        });
                        if (config.dispatch().enabled()) {
                            lanes.start();
                        }
                        deployed.set(true);
                        return null;
                    });
        });
    }

    /**
     * Every replica must encrypt keys under the same master key: the first start stores an encrypted check value,
     * later starts must be able to decrypt it.
     */
    private Future<Void> checkMasterKey(SigningKeyStore keys) {
        return keys.checkValue()
                .compose(stored -> stored.isPresent() ? Future.succeededFuture(stored.get())
                        : keys.storeCheckValue(masterKey.encrypt(MASTER_KEY_CHECK, MASTER_KEY_CHECK)))
                .compose(value -> {
                    try {
                        masterKey.decrypt(MASTER_KEY_CHECK, value);
                        return Future.succeededFuture();
                    } catch (IllegalStateException e) {
                        return Future.failedFuture(new DatabaseStartException("security.masterKey is not the key this "
                                + "database's signing keys are encrypted with; give every replica the same key"));
                    }
                });
    }

    private static <T> T remember(AtomicReference<T> ref, T instance) {
        ref.set(instance);
        return instance;
    }

    /** The routes of the public port (of one of its verticle instances; they are all alike). */
    public Router publicRouter() {
        return publicApi.get().router();
    }

    /** The routes of the management port. */
    public Router managementRouter() {
        return managementApi.get().router();
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

    /** Port 0 = a free port chosen now, so that every instance of a server binds the same one. */
    private static int portOrFree(int port) throws IOException {
        if (port != 0) {
            return port;
        }
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Graceful stop; completes when everything is closed. Never fails. */
    public Future<Void> stop() {
        deployed.set(false);
        if (lagTimer >= 0) {
            vertx.cancelTimer(lagTimer);
        }
        // the servers stop taking connections and wait for their in-flight requests, which the committer writes
        // at once (no group window) and answers; requests that still reach it afterwards get 503
        Future<?> publicStopped = publicDeployment == null ? Future.succeededFuture() : vertx.undeploy(publicDeployment);
        Future<?> drained = committer == null ? Future.succeededFuture() : committer.drain();
        Promise<Void> closed = Promise.promise(); // no context: it completes after Vert.x is gone
        Future.join(publicStopped, drained)
                .transform(x -> {
                    if (queueStats != null) {
                        queueStats.stop();
                    }
                    if (prober != null) {
                        prober.stop();
                    }
                    return managementDeployment == null ? Future.succeededFuture() : vertx.undeploy(managementDeployment);
                })
                .transform(x -> lanes == null ? Future.succeededFuture() : lanes.stop())
                .transform(x -> environmentCache == null ? Future.succeededFuture() : environmentCache.stop())
                .transform(x -> pool == null ? Future.succeededFuture() : pool.close())
                .transform(x -> database == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
                    database.close();
                    return null;
                }))
                .onComplete(x -> vertx.close().onComplete(y -> {
                    log.info("Gateway stopped");
                    closed.complete();
                }));
        return closed.future();
    }

    public int publicPort() {
        return publicPort;
    }

    public int managementPort() {
        return managementPort;
    }

    public String token(BearerAuth.Role role) {
        return tokens.get(role);
    }

    /** Environments and keys in memory, kept current across replicas (LISTEN/NOTIFY). */
    public EnvironmentCache environments() {
        return environmentCache;
    }

    public Database database() {
        return database;
    }

    public Vertx vertx() {
        return vertx;
    }

    public GatewayConfig config() {
        return config;
    }

    static long shutdownWaitMillis(GatewayConfig config) {
        return TimeUnit.MILLISECONDS.convert(config.shutdownTimeout()) + 30_000;
    }
}
