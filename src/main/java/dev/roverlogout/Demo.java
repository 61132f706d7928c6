package dev.roverlogout;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.config.ConfigLoader;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.sim.EpicSimulator;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

/**
 * The demo: the gateway on its own embedded database (in {@code <dataDir>}), dispatching, next to an in-process
 * Epic simulator, with a sandbox environment registered through the admin API and made READY the real way (the
 * readiness prober gets a token from the simulator, which verifies the gateway's signed assertion against the
 * gateway's JWKS). Everything talks over real HTTP, as in production.
 */
public final class Demo {
    static final String ENVIRONMENT = "sandbox";
    static final String INSTANCE = "Interconnect-SBX";
    static final String CLIENT_ID = "sandbox-client";
    private static final Logger log = LoggerFactory.getLogger(Demo.class);

    private final Gateway gateway;
    private final Vertx simVertx;
    private final int simPort;

    private Demo(Gateway gateway, Vertx simVertx, int simPort) {
        this.gateway = gateway;
        this.simVertx = simVertx;
        this.simPort = simPort;
    }

    /**
     * The gateway's configuration for the demo: the given settings and environment, but always the embedded
     * database and generated tokens under {@code dataDir}, dispatch on, and PENDING environments probed every second.
     */
    static GatewayConfig config(java.util.Optional<Path> file, Map<String, String> environment, Path dataDir) {
        Map<String, String> env = new HashMap<>(environment);
        env.put("RLG_DATADIR", dataDir.toString());
        env.put("RLG_DATABASE_URL", "");
        env.put("RLG_DATABASE_EMBEDDEDDIR", dataDir.resolve("pg").toString());
        env.put("RLG_AUTH_ADMINTOKEN", "");
        env.put("RLG_AUTH_INGESTTOKEN", "");
        env.put("RLG_DISPATCH_ENABLED", "true");
        env.put("RLG_EPIC_READINESSPROBEINTERVAL", "1s");
        env.put("RLG_EPIC_ALLOWPRIVATENETWORKS", "true"); // the sandbox's simulated Epic listens on loopback
        env.put("RLG_LOGGING_FORMAT", "plain"); // the demo runs in a terminal, next to the printed commands
        return ConfigLoader.load(file, env);
    }

    /** Starts the gateway, then the simulator on {@code simPort} (0 = any), and registers the sandbox. Blocking. */
    static Demo start(GatewayConfig config, int simPort) throws Exception {
        Gateway gateway = Main.join(Gateway.start(config), TimeUnit.MINUTES.toMillis(5));
        Vertx simVertx = Vertx.vertx();
        try {
            String jwksUrl = "http://127.0.0.1:" + gateway.publicPort() + "/jwks/" + ENVIRONMENT + ".json";
            EpicSimulator sim = new EpicSimulator("127.0.0.1", simPort, new JsonArray().add(new JsonObject()
                    .put("name", INSTANCE).put("clientId", CLIENT_ID).put("jwksUrl", jwksUrl).put("rateLimitPerSecond", 50)));
            Main.join(simVertx.deployVerticle(sim), 60_000);
            Demo demo = new Demo(gateway, simVertx, sim.actualPort());
            demo.registerSandbox();
            return demo;
        } catch (Exception e) {
            Main.join(simVertx.close(), 10_000);
            Main.join(gateway.stop(), 60_000);
            throw e;
        }
    }

    /** Creates the sandbox environment (kept from an earlier demo if there) and waits until it is READY. */
    private void registerSandbox() throws Exception {
        WebClient client = WebClient.create(gateway.vertx());
        try {
            String admin = "Bearer " + gateway.token(BearerAuth.Role.ADMIN);
            JsonObject body = new JsonObject().put("id", ENVIRONMENT).put("displayName", "Demo sandbox (simulated Epic)")
                    .put("interconnectUrl", "http://127.0.0.1:" + simPort).put("instance", INSTANCE)
                    .put("clientId", CLIENT_ID).put("allowInsecure", true)
                    .put("rateLimitPerSecond", 20).put("burst", 10).put("maxConcurrency", 4);
            HttpResponse<Buffer> created = Main.join(client.post(gateway.managementPort(), "127.0.0.1", "/admin/environments")
                    .putHeader("Authorization", admin).sendJsonObject(body), 30_000);
            if (created.statusCode() == 409) { // an earlier demo's sandbox: point it at this run's simulator
                body.remove("id");
                created = Main.join(client.patch(gateway.managementPort(), "127.0.0.1", "/admin/environments/" + ENVIRONMENT)
                        .putHeader("Authorization", admin).sendJsonObject(body), 30_000);
            }
            if (created.statusCode() / 100 != 2) {
                throw new IllegalStateException("cannot register the sandbox environment: " + created.bodyAsString());
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                HttpResponse<Buffer> env = Main.join(client.get(gateway.managementPort(), "127.0.0.1",
                        "/admin/environments/" + ENVIRONMENT).putHeader("Authorization", admin).send(), 30_000);
                String status = env.bodyAsJsonObject().getString("status");
                if ("READY".equals(status)) {
                    return;
                }
                if (!"PENDING".equals(status)) { // PAUSED or DISABLED by someone in an earlier demo
                    log.info("Sandbox environment is {}; activating it", status);
                    String action = "PAUSED".equals(status) ? "resume" : "activate";
                    Main.join(client.post(gateway.managementPort(), "127.0.0.1", "/admin/environments/" + ENVIRONMENT + "/" + action)
                            .putHeader("Authorization", admin).send(), 30_000);
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the sandbox environment did not become READY within 60 s "
                            + "(the simulator did not accept the gateway's key)");
                }
                Thread.sleep(250);
            }
        } finally {
            client.close();
        }
    }

    Gateway gateway() {
        return gateway;
    }

    int simPort() {
        return simPort;
    }

    Future<Void> stop() {
        return simVertx.close().eventually(gateway::stop);
    }

    /** Ready-to-paste commands; the tokens are read from the owner-only token file, never printed. */
    String instructions(Path dataDir) {
        Path tokens = dataDir.resolve(dev.roverlogout.http.TokenStore.FILE_NAME).toAbsolutePath();
        int pub = gateway.publicPort();
        int mgmt = gateway.managementPort();
        String now = java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC).withNano(0).toString();
        return String.join("\n",
                "",
                "Rover Logout Gateway demo is running (Ctrl-C stops it):",
                "  public API (ingest, JWKS)   http://localhost:" + pub,
                "  management (admin, metrics) http://localhost:" + mgmt,
                "  simulated Epic              http://127.0.0.1:" + simPort + "/" + INSTANCE + "  (Epic allows 50 calls/s)",
                "  environment '" + ENVIRONMENT + "' is READY: 20 calls/s, burst 10; tokens are in " + tokens,
                "",
                "Admin console: http://localhost:" + mgmt + "/console/",
                "  sign in with the admin token (kept out of this output on purpose): sed -n 's/^admin=//p' " + tokens,
                "",
                "In another terminal:",
                "  INGEST=$(sed -n 's/^ingest=//p' " + tokens + ")",
                "  ADMIN=$(sed -n 's/^admin=//p' " + tokens + ")",
                "",
                "1. Check a device back in:",
                "  curl -s -X POST localhost:" + pub + "/v1/checkins -H \"Authorization: Bearer $INGEST\" \\",
                "       -H 'Content-Type: application/json' \\",
                "       -d '{\"eventId\":\"demo-" + System.currentTimeMillis() + "\",\"environmentId\":\"" + ENVIRONMENT
                        + "\",\"deviceId\":\"ipad-0042\",\"occurredAt\":\"" + now + "\"}'",
                "2. Epic's side: the simulator saw one DisassociateMobileDevice call for ipad-0042:",
                "  curl -s 127.0.0.1:" + simPort + "/_sim/stats",
                "3. The device's history (check-in, job, Epic attempt):",
                "  curl -s localhost:" + mgmt + "/admin/devices/ipad-0042/history -H \"Authorization: Bearer $ADMIN\"",
                "4. The queue and the metrics SREs watch:",
                "  curl -s localhost:" + mgmt + "/admin/queue -H \"Authorization: Bearer $ADMIN\"",
                "  curl -s localhost:" + mgmt + "/metrics | grep -E '^rlg_(checkins|disassociations)_total'",
                "");
    }
}
