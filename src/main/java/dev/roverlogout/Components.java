package dev.roverlogout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import dev.roverlogout.admin.Audit;
import dev.roverlogout.admin.AuditRoutes;
import dev.roverlogout.admin.EnvironmentRoutes;
import dev.roverlogout.admin.EnvironmentValidator;
import dev.roverlogout.admin.KeyRoutes;
import dev.roverlogout.admin.OperationsRoutes;
import dev.roverlogout.admin.RetentionRoutes;
import dev.roverlogout.admin.TenantRoutes;
import dev.roverlogout.admin.TenantScope;
import dev.roverlogout.auth.AdminAuth;
import dev.roverlogout.auth.OidcVerifier;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.console.ConsoleRoutes;
import dev.roverlogout.dispatch.LaneSupervisor;
import dev.roverlogout.dispatch.Rescuer;
import dev.roverlogout.epic.ConnectionTester;
import dev.roverlogout.epic.EpicClient;
import dev.roverlogout.epic.JwksRoutes;
import dev.roverlogout.epic.ReadinessProber;
import dev.roverlogout.epic.TokenProvider;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.http.ConnectionGuard;
import dev.roverlogout.http.ManagementApi;
import dev.roverlogout.http.PublicApi;
import dev.roverlogout.ingest.CheckInRoutes;
import dev.roverlogout.ingest.GroupCommitter;
import dev.roverlogout.ingest.IngestCredentials;
import dev.roverlogout.lifecycle.Deployment;
import dev.roverlogout.lifecycle.Service;
import dev.roverlogout.maintenance.EventLoopLagProbe;
import dev.roverlogout.maintenance.Diagnoses;
import dev.roverlogout.maintenance.QueueStatistics;
import dev.roverlogout.maintenance.ReplicaCleaner;
import dev.roverlogout.maintenance.RetentionCleaner;
import dev.roverlogout.metrics.GatewayMetrics;
import dev.roverlogout.store.AuditStore;
import dev.roverlogout.store.CredentialStore;
import dev.roverlogout.store.DeadLetterReplay;
import dev.roverlogout.store.DiagnosisStore;
import dev.roverlogout.store.EnvironmentCache;
import dev.roverlogout.store.EnvironmentDirectory;
import dev.roverlogout.store.EnvironmentStore;
import dev.roverlogout.store.EventStore;
import dev.roverlogout.store.JobStore;
import dev.roverlogout.store.LaneLeases;
import dev.roverlogout.store.Notifications;
import dev.roverlogout.store.OperationsStore;
import dev.roverlogout.store.QueueDepthStore;
import dev.roverlogout.store.RetentionStore;
import dev.roverlogout.store.SigningKeyStore;
import dev.roverlogout.store.TenantStore;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.ext.web.client.WebClient;
import io.vertx.sqlclient.Pool;

/**
 * The gateway's parts, built by {@link #wire} in one plain method, and the order they start in ({@link #services}):
 * the notification hub, the environment cache, queue statistics, the background jobs, the lane supervisor, the
 * management server, then the ingest committer with the public server. {@code Gateway} stops them in reverse: the
 * public port and the committer first (together: in-flight requests are written at once and answered), the pool
 * and the database last.
 *
 * <p>Which context each part runs on (each is a Vert.x event-loop context; the event loop under it is Vert.x's
 * round-robin choice, and the three below are created before the HTTP servers, so on the default 2 × cores event
 * loops they get loops of their own until the servers' instances fill in after them):
 * <ul>
 * <li><b>ingest</b>: the ingest committer alone. Every check-in request hops onto it and back; keeping it apart from
 *     dispatch keeps the ack latency of lockers independent of how busy the lanes are.</li>
 * <li><b>dispatch</b>: the lane supervisor and all its lanes. Their state (leases, claimed jobs, token buckets) is
 *     confined to one context, so a handover never crosses threads; one context has made 4,700 Epic calls/s
 *     (BENCHMARKS.md), far above what the environments' rate limits allow.</li>
 * <li><b>maintenance</b>: everything periodic and off the request path: the notification hub's connection, the
 *     environment cache's refreshes, queue statistics, the readiness prober, the lease rescuer, replica and
 *     retention cleanup. Their work is in PostgreSQL, so sharing one loop costs nothing, and a slow round of one
 *     never delays ingest or a lane.</li>
 * <li>the HTTP servers: their own contexts, one public instance per core, as Vert.x deploys them.</li>
 * </ul>
 */
record Components(Pool pool, SigningKeyStore signingKeys, EnvironmentCache environments, RetentionCleaner retention,
                  List<Service> services, Deployment<PublicApi> publicApi, Deployment<ManagementApi> managementApi) {

    static Components wire(Vertx vertx, GatewayConfig config, Foundation foundation, GatewayMetrics metrics,
                           String replicaId, BooleanSupplier ready) {
        Context ingest = newContext(vertx);
        Context dispatch = newContext(vertx);
        Context maintenance = newContext(vertx);
        Pool pool = foundation.database().pool(vertx, config.database());
        EnvironmentStore environmentStore = new EnvironmentStore(pool);
        SigningKeyStore signingKeys = new SigningKeyStore(pool);
        Notifications notifications = new Notifications(vertx, maintenance, foundation.database().url());
        EnvironmentCache environments = new EnvironmentCache(vertx, maintenance, environmentStore, signingKeys,
                notifications, Duration.ofSeconds(30));
        EnvironmentDirectory directory = new EnvironmentDirectory(environments);
        QueueStatistics queueStats = new QueueStatistics(vertx, maintenance, new QueueDepthStore(pool), metrics,
                config.queueStatsInterval());
        GroupCommitter committer = new GroupCommitter(vertx, ingest, new EventStore(pool), metrics,
                queueStats::noteQueued, config.ingest());
        WebClient epicWeb = WebClient.create(vertx, EpicClient.clientOptions()); // token requests, test connection
        TokenProvider tokens = new TokenProvider(vertx, epicWeb, signingKeys, foundation.masterKey(), metrics);
        JobStore jobs = new JobStore(pool);
        LaneLeases leases = new LaneLeases(pool);

        CredentialStore credentialStore = new CredentialStore(pool);
        IngestCredentials credentials = new IngestCredentials(vertx, maintenance, credentialStore, notifications,
                EnvironmentValidator.DEFAULT_TENANT, config.ingest().rateLimitPerSecond());
        Diagnoses diagnoses = new Diagnoses(vertx, maintenance, new DiagnosisStore(pool), metrics,
                config.queueStatsInterval().multipliedBy(6));
        List<Service> services = new ArrayList<>(List.of(notifications, environments, queueStats, diagnoses, credentials,
                new ReadinessProber(vertx, maintenance, environmentStore, tokens, config.epic().readinessProbeInterval())));
        if (config.dispatch().enabled()) {
            services.add(new Rescuer(vertx, maintenance, jobs, config.dispatch().leaseDuration()));
            services.add(new ReplicaCleaner(vertx, maintenance, leases));
            services.add(new LaneSupervisor(vertx, dispatch, replicaId, environments, notifications, leases, jobs,
                    new EpicClient(vertx, tokens, metrics, EpicClient.requestTimeoutFor(config.dispatch().leaseDuration())),
                    metrics, config.dispatch()));
        }
        RetentionStore retention = new RetentionStore(pool);
        RetentionCleaner cleaner = new RetentionCleaner(vertx, maintenance, retention, foundation.database().url(),
                replicaId, config.retention(), metrics);
        services.add(cleaner);
        services.add(new EventLoopLagProbe(vertx, List.of(ingest, dispatch, maintenance), metrics));

        BearerAuth auth = new BearerAuth(foundation.tokens());
        Optional<OidcVerifier> oidc = config.auth().oidc().map(o -> new OidcVerifier(vertx, o));
        oidc.ifPresent(services::add);
        AdminAuth adminAuth = new AdminAuth(auth, oidc, !config.auth().adminTokenDisabled(), config.dataDir());
        Audit audit = new Audit(new AuditStore(pool));
        KeyRoutes keyRoutes = new KeyRoutes(signingKeys, foundation.masterKey(), config.keys(), config.publicBaseUrl());
        EnvironmentRoutes environmentRoutes = new EnvironmentRoutes(environmentStore, directory, keyRoutes,
                new ConnectionTester(vertx, epicWeb, tokens, config.publicBaseUrl(), config.epic().allowPrivateNetworks()), config.publicBaseUrl(), audit,
                diagnoses::of);
        OperationsRoutes operations = new OperationsRoutes(new OperationsStore(pool), new DeadLetterReplay(pool),
                environmentStore, audit, queueStats::lastHour, diagnoses::of);
        ConnectionGuard managementGuard = new ConnectionGuard(config.connections());
        Deployment<ManagementApi> managementApi = new Deployment<>("management API", vertx, () -> new ManagementApi(
                new GatewayConfig.Endpoint(config.management().host(), foundation.managementPort()), adminAuth, metrics,
                pool, ready, List.of(audit, new TenantScope(environmentStore), environmentRoutes, operations,
                new RetentionRoutes(retention, config.retention(), cleaner::runNow, audit),
                new TenantRoutes(new TenantStore(pool), credentialStore, environmentStore, config.ingest().rateLimitPerSecond(),
                        credentials::reload, audit), new AuditRoutes(new AuditStore(pool)), new ConsoleRoutes(config.auth().oidc())),
                managementGuard), 1);
        CheckInRoutes checkIns = new CheckInRoutes(committer, directory, queueStats::backlog, auth, credentials, metrics,
                config.ingest());
        JwksRoutes jwks = new JwksRoutes(signingKeys, config.keys().retireAfter());
        ConnectionGuard publicGuard = new ConnectionGuard(config.connections()); // one connection count for all instances
        Deployment<PublicApi> publicApi = new Deployment<>("public API", vertx, () -> new PublicApi(
                new GatewayConfig.Endpoint(config.http().host(), foundation.publicPort()), List.of(checkIns, jwks),
                config.shutdownTimeout().toMillis(), publicGuard), Math.max(1, Runtime.getRuntime().availableProcessors()));
        services.add(managementApi);
        // the public port and the committer stop at the same time: the port stops taking connections and waits for its
        // in-flight requests, which the draining committer writes at once (no group window); later arrivals get 503
        services.add(Service.together("public API and ingest committer", committer, publicApi));
        return new Components(pool, signingKeys, environments, cleaner, List.copyOf(services), publicApi, managementApi);
    }

    /** A new event-loop context (Vert.x picks the loop round-robin); a service given one runs all its work on it. */
    private static Context newContext(Vertx vertx) {
        return ((VertxInternal) vertx).createEventLoopContext();
    }
}
