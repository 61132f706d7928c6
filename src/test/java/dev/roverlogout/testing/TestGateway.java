package dev.roverlogout.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.roverlogout.Gateway;
import dev.roverlogout.config.ConfigLoader;
import dev.roverlogout.config.GatewayConfig;
import io.vertx.core.Future;

/** A real gateway for tests, configured as an operator would: RLG_* overrides on an empty config file. */
public final class TestGateway implements AutoCloseable {
    public static final String ADMIN = "test-admin-token-0123456789";
    public static final String INGEST = "test-ingest-token-0123456789";
    /** A fixed test master key (base64 of 32 bytes); never a production value. */
    public static final String MASTER_KEY = java.util.Base64.getEncoder().encodeToString(new byte[32]);

    private final Gateway gateway;
    private final String databaseUrl;

    private TestGateway(Gateway gateway, String databaseUrl) {
        this.gateway = gateway;
        this.databaseUrl = databaseUrl;
    }

    /** A gateway on a fresh database of the shared test PostgreSQL. */
    public static TestGateway start(Map<String, String> overrides) {
        return start(TestPostgres.newDatabase(), overrides);
    }

    public static TestGateway start(String databaseUrl, Map<String, String> overrides) {
        Map<String, String> env = new HashMap<>();
        env.put("RLG_DATABASE_URL", databaseUrl);
        env.putAll(overrides);
        return new TestGateway(startGateway(config(env)), databaseUrl);
    }

    /** The config of an operator who sets only these RLG_* variables (plus test ports and tokens). */
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
        try {
            env.put("RLG_DATADIR", Files.createTempDirectory("rlg-data").toString());
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        env.putAll(overrides);
        try {
            Path empty = Files.createTempFile("gateway", ".yaml");
            return ConfigLoader.load(Optional.of(empty), env);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
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

    @Override
    public void close() {
        join(gateway.stop());
    }
}
