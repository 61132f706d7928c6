package dev.roverlogout.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.roverlogout.Gateway;
import dev.roverlogout.config.ConfigLoader;
import dev.roverlogout.config.GatewayConfig;
import io.vertx.core.Future;

/**
 * A real gateway for tests, configured as an operator would: RLG_* overrides on an empty config file. It leaves
 * nothing behind: the config file is deleted once read, and {@link #close()} deletes the data directory it named.
 */
public final class TestGateway implements AutoCloseable {
    public static final String ADMIN = "test-admin-token-0123456789";
    public static final String INGEST = "test-ingest-token-0123456789";
    /** A fixed test master key (base64 of 32 bytes); never a production value. */
    public static final String MASTER_KEY = java.util.Base64.getEncoder().encodeToString(new byte[32]);

    private final Gateway gateway;
    private final String databaseUrl;
    /** The data directory {@link #config} named for this gateway, deleted on close; null when the test gave one. */
    private final Path ownDataDir;

    private TestGateway(Gateway gateway, String databaseUrl, Path ownDataDir) {
        this.gateway = gateway;
        this.databaseUrl = databaseUrl;
        this.ownDataDir = ownDataDir;
    }

    /** A gateway on a fresh database of the shared test PostgreSQL. */
    public static TestGateway start(Map<String, String> overrides) {
        return start(TestPostgres.newDatabase(), overrides);
    }

    public static TestGateway start(String databaseUrl, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>();
        env.put("RLG_DATABASE_URL", databaseUrl);
        env.putAll(overrides);
        GatewayConfig config = config(env);
        Path ownDataDir = env.containsKey("RLG_DATADIR") ? null : config.dataDir();
        try {
            return new TestGateway(startGateway(config), databaseUrl, ownDataDir);
        } catch (RuntimeException e) {
            GatewayProcess.deleteTree(ownDataDir); // a failed start has stopped what it started
            throw e;
        }
    }

    /**
     * The config of an operator who sets only these RLG_* variables (plus test ports and tokens). Creates no file
     * that outlives the call: unless RLG_DATADIR is given, {@code dataDir} is a fresh path under the temp directory
     * that does not exist yet. A test that starts a gateway from this config itself (not through {@link #start})
     * deletes {@code dataDir} after stopping it, or passes its own RLG_DATADIR (a {@code @TempDir}).
     */
    public static GatewayConfig config(Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>();
        env.put("RLG_HTTP_HOST", "127.0.0.1");
        env.put("RLG_HTTP_PORT", "0");
        env.put("RLG_MANAGEMENT_PORT", "0");
        env.put("RLG_AUTH_ADMINTOKEN", ADMIN);
        env.put("RLG_AUTH_INGESTTOKEN", INGEST);
        env.put("RLG_SHUTDOWN_TIMEOUT", "5s");
        // lanes would start calling the (unreachable) Epic of every READY test environment and move jobs out of
        // 'queued' under the ingest tests' feet; the dispatch tests switch them on
        env.put("RLG_DISPATCH_ENABLED", "false");
        env.put("RLG_SECURITY_MASTERKEY", MASTER_KEY);
        env.put("RLG_EPIC_ALLOWPRIVATENETWORKS", "true"); // the simulator listens on loopback
        // Named, not created: the gateway makes its data directory only when it writes there (generated tokens or
        // master key; both are given above), so a config that never starts a gateway leaves nothing behind. Simpler
        // than deleting at JVM exit, and nothing is left over when the JVM is killed.
        env.put("RLG_DATADIR", Path.of(System.getProperty("java.io.tmpdir"), "rlg-data-" + UUID.randomUUID()).toString());
        env.putAll(overrides);
        Path empty = null;
        try {
            // an empty file, not the default conf/gateway.yaml of the working directory; read once, right here
            empty = Files.createTempFile("gateway", ".yaml");
            return ConfigLoader.load(Optional.of(empty), env);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        } finally {
            GatewayProcess.deleteTree(empty);
        }
    }

    public static Gateway startGateway(GatewayConfig config) {
        return join(Gateway.start(config));
    }

    public static <T> T join(Future<T> future) {
        CompletableFuture<T> cf = new CompletableFuture<>();
        future.onComplete(ar -> {
            if (ar.succeeded()) {
                cf.complete(ar.result());
            } else {
                cf.completeExceptionally(ar.cause());
            }
        });
        try {
            return cf.get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public Gateway gateway() {
        return gateway;
    }

    public String databaseUrl() {
        return databaseUrl;
    }

    public int publicPort() {
        return gateway.publicPort();
    }

    public int managementPort() {
        return gateway.managementPort();
    }

    /** Stops the gateway, then deletes the data directory it was given by {@link #config} (if it made one). */
    @Override
    public void close() {
        try {
            join(gateway.stop());
        } finally {
            GatewayProcess.deleteTree(ownDataDir);
        }
    }
}
