package dev.roverlogout.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The gateway's whole configuration, validated once at start (see {@link ConfigLoader}) and passed in by
 * constructor. Every key, its default and its meaning are documented in {@code conf/gateway.yaml}.
 */
public record GatewayConfig(
        Endpoint http,
        Endpoint management,
        Connections connections,
        Database database,
        Path dataDir,
        Auth auth,
        Optional<String> masterKey,
        String publicBaseUrl,
        Ingest ingest,
        Epic epic,
        Keys keys,
        Dispatch dispatch,
        Retention retention,
        Duration queueStatsInterval,
        Duration shutdownTimeout,
        String loggingFormat) {

    /** Every key with its default, in the order of conf/gateway.yaml. The one place defaults live. */
    public static final Map<String, String> DEFAULTS = defaults();

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("http.host", "0.0.0.0");
        d.put("http.port", "8080");
        d.put("management.host", "127.0.0.1");
        d.put("management.port", "8081");
        d.put("http.idleTimeout", "60s");
        d.put("http.headerTimeout", "10s");
        d.put("http.bodyTimeout", "10s");
        d.put("http.maxConnections", "10000");
        d.put("database.url", "");
        d.put("database.embeddedDir", "data/pg");
        d.put("database.poolSize", "8");
        d.put("database.connectTimeout", "5s");
        d.put("dataDir", "data");
        d.put("auth.adminToken", "");
        d.put("auth.ingestToken", "");
        d.put("auth.oidc.issuer", "");
        d.put("auth.oidc.audience", "");
        d.put("auth.oidc.rolesClaim", "roles");
        d.put("auth.oidc.tenantsClaim", "tenants");
        d.put("auth.oidc.consoleClientId", "");
        d.put("security.masterKey", "");
        d.put("publicBaseUrl", "http://localhost:8080");
        d.put("ingest.maxBacklog", "1000000");
        d.put("ingest.retryAfter", "5s");
        d.put("ingest.commitTimeout", "10s");
        d.put("ingest.groupCommit.window", "1ms");
        d.put("ingest.groupCommit.maxEvents", "5000");
        d.put("ingest.groupCommit.writers", "2");
        d.put("ingest.rateLimitPerSecond", "10000");
        d.put("epic.readinessProbeInterval", "5m");
        d.put("epic.allowPrivateNetworks", "false");
        d.put("keys.rotationGrace", "10m");
        d.put("keys.retireAfter", "48h");
        d.put("dispatch.enabled", "true");
        d.put("dispatch.leaseDuration", "10s");
        d.put("dispatch.pollInterval", "5s");
        d.put("dispatch.batchSize", "100");
        d.put("dispatch.maxAge", "24h");
        d.put("dispatch.retry.base", "1s");
        d.put("dispatch.retry.cap", "5m");
        d.put("dispatch.retry.maxAttempts", "20");
        d.put("dispatch.circuit.maxFailures", "10");
        d.put("dispatch.circuit.resetTimeout", "30s");
        d.put("dispatch.circuit.failureRatio", "0.5");
        d.put("dispatch.circuit.minCalls", "20");
        d.put("retention.finishedJobs", "30d");
        d.put("retention.deviceEvents", "30d");
        d.put("retention.deadLetters", "90d");
        d.put("retention.audit", "400d");
        d.put("retention.interval", "10m");
        d.put("retention.batchSize", "5000");
        d.put("metrics.queueStatsInterval", "5s");
        d.put("shutdown.timeout", "20s");
        d.put("logging.format", "json");
        return java.util.Collections.unmodifiableMap(d);
    }

    /** A listening address. Port 0 picks a free port (tests). */
    public record Endpoint(String host, int port) {
    }

    /**
     * How both servers (public and management) treat slow and abusive clients.
     *
     * @param idleTimeout    a connection with no bytes in either direction this long is closed
     * @param headerTimeout  a connection must deliver a complete request head (request line and headers) this long
     *                       after it opened or its previous response ended, else it is closed (slowloris: a client
     *                       trickling a byte now and then is never idle)
     * @param bodyTimeout    a request whose head arrived must deliver its whole body this long after the head, else
     *                       the connection is closed (a body trickled a byte now and then is never idle either); the
     *                       time the gateway takes to answer does not count
     * @param maxConnections open connections per server and replica above which new ones are closed at once; 0 = no
     *                       limit
     */
    public record Connections(Duration idleTimeout, Duration headerTimeout, Duration bodyTimeout, int maxConnections) {
    }

    /**
     * @param url            empty = embedded PostgreSQL in {@code embeddedDir}
     * @param embeddedDir    data directory of the embedded PostgreSQL, kept across restarts
     * @param poolSize       connections in the reactive pool
     * @param connectTimeout how long to wait for a connection before answering 503
     */
    public record Database(Optional<String> url, Path embeddedDir, int poolSize, Duration connectTimeout) {
        public boolean embedded() {
            return url.isEmpty();
        }
    }

    /**
     * Configured bearer tokens, plaintext or {@code sha256:<hex>}; empty = generated on first start.
     *
     * @param adminTokenDisabled {@code auth.adminToken: disabled}: no break-glass token; people sign in through OIDC
     * @param oidc               the identity provider whose access tokens the management port accepts, if any
     */
    public record Auth(Optional<String> adminToken, Optional<String> ingestToken, boolean adminTokenDisabled,
                       Optional<Oidc> oidc) {
        public Auth(Optional<String> adminToken, Optional<String> ingestToken) {
            this(adminToken, ingestToken, false, Optional.empty());
        }
    }

    /**
     * OpenID Connect for people on the management port.
     *
     * @param issuer          the issuer URL exactly as the provider's tokens carry it in {@code iss}; discovery is at
     *                        {@code <issuer>/.well-known/openid-configuration}
     * @param audience        a value the token's {@code aud} must contain
     * @param rolesClaim      the claim (or dotted path into nested claims) holding viewer / operator / admin
     * @param tenantsClaim    the claim (or dotted path) holding the tenant ids, or {@code *}
     * @param consoleClientId the client id the admin console signs in with (public client, PKCE); empty = none
     */
    public record Oidc(String issuer, String audience, String rolesClaim, String tenantsClaim, String consoleClientId) {
    }

    /**
     * @param maxBacklog     queued jobs above which ingest answers 503
     * @param retryAfter     the Retry-After given with a 503
     * @param commitTimeout  how long a request waits for its group commit before it is answered 503
     * @param groupWindow    how long the first event of a group waits for company before the group is written
     * @param groupMaxEvents a group is written at once when it reaches this many events
     * @param groupWriters   how many groups may be written (transactions open) at once
     * @param rateLimitPerSecond events per second one ingest token may submit to this replica (token bucket holding
     *                       one second's worth, at least a full batch); beyond it requests get 429. 0 = no limit
     */
    public record Ingest(long maxBacklog, Duration retryAfter, Duration commitTimeout,
                         Duration groupWindow, int groupMaxEvents, int groupWriters, int rateLimitPerSecond) {
    }

    /**
     * @param readinessProbeInterval how often PENDING environments are probed for Epic accepting their key
     * @param allowPrivateNetworks   whether platform administrators may point an environment at loopback and private
     *                               networks (the demo, tests and load tests call a simulator on loopback); never
     *                               tenant-scoped admins, never the unspecified, link-local or metadata addresses
     */
    public record Epic(Duration readinessProbeInterval, boolean allowPrivateNetworks) {
    }

    public record Keys(Duration rotationGrace, Duration retireAfter) {
    }

    /**
     * What the retention cleaner deletes, and how (river's JobCleaner: every field says what it keeps and for how long).
     * It never deletes a queued, leased or retrying job, and keeps what fencing, coalescing and the device history
     * need: the newest event and the newest check-out of every device, and the job of a device's newest event.
     *
     * @param finishedJobs jobs that ended done, not_associated, cancelled or expired are deleted, with their
     *                     {@code job_attempt} rows, this long after they finished. Default 30 days
     * @param deviceEvents check-in and check-out events are deleted this long after they were received; an eventId
     *                     re-sent within it is still a duplicate. Default 30 days
     * @param deadLetters  failed jobs (dead letters) are kept this long after they failed, longer than finished jobs so
     *                     that people can replay them. Default 90 days
     * @param audit        environment status changes (who activated, paused, ... and why) are kept this long; the
     *                     newest of each environment always stays. Default 400 days
     * @param interval     how often the cleaner runs (on one replica at a time). Default 10 minutes
     * @param batchSize    rows per delete statement (each its own transaction); the cleaner pauses between batches
     *                     twice as long as the batch took, so it never takes more than about a third of one connection. Default 5000
     */
    public record Retention(Duration finishedJobs, Duration deviceEvents, Duration deadLetters, Duration audit,
                            Duration interval, int batchSize) {
    }

    /**
     * @param enabled false = this replica only ingests and serves admin; other replicas dispatch
     * @param circuitFailureRatio share of retryable failures among at least {@code circuitMinCalls} calls within
     *                            10 s that opens the circuit (besides {@code circuitMaxFailures} failures)
     */
    public record Dispatch(boolean enabled, Duration leaseDuration, Duration pollInterval, int batchSize, Duration maxAge,
                           Duration retryBase, Duration retryCap, int retryMaxAttempts,
                           int circuitMaxFailures, Duration circuitResetTimeout, double circuitFailureRatio,
                           int circuitMinCalls) {
    }
}
