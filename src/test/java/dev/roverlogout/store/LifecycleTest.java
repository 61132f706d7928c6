package dev.roverlogout.store;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.TestPostgres.column;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.roverlogout.Gateway;
import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;

/** Start, stop, restart and database outages, with nothing acknowledged lost. */
class LifecycleTest {
    @TempDir
    Path dir;

    private Map<String, String> embeddedIn(Path root) {
        Map<String, String> env = new HashMap<>();
        env.put("RLG_DATABASE_EMBEDDEDDIR", root.resolve("pg").toString());
        env.put("RLG_DATADIR", root.toString());
        return env;
    }

    @Test
    @DisplayName("on the embedded default a restart finds the data of the first start, and generated tokens are kept owner-only")
    void embeddedRestartKeepsData() throws Exception {
        Map<String, String> env = embeddedIn(dir);
        env.put("RLG_AUTH_ADMINTOKEN", "");
        env.put("RLG_AUTH_INGESTTOKEN", "");
        env.put("RLG_SECURITY_MASTERKEY", "");
        String admin;
        try (Http http = new Http()) {
            Gateway first = TestGateway.startGateway(TestGateway.config(env));
            admin = first.token(BearerAuth.Role.ADMIN);
            String ingest = first.token(BearerAuth.Role.INGEST);
            assertThat(http.post(first.managementPort(), "/admin/environments", admin, Fixtures.environment("keep")).statusCode())
                    .isEqualTo(201);
            http.post(first.managementPort(), "/admin/environments/keep/activate", admin, null);
            assertThat(http.post(first.publicPort(), "/v1/checkins", ingest, checkIn("k-1", "keep", "dev-k", "2026-11-29T07:00:00Z"))
                    .statusCode()).isEqualTo(202);
            TestGateway.join(first.stop());

            Path tokens = dir.resolve("tokens.properties");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tokens))).isEqualTo("rw-------");
            assertThat(Files.readString(tokens)).contains(admin);
            Path masterKey = dir.resolve("master.key");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(masterKey))).isEqualTo("rw-------");

            Gateway second = TestGateway.startGateway(TestGateway.config(env));
            try {
                assertThat(second.token(BearerAuth.Role.ADMIN)).isEqualTo(admin);
                HttpResponse<Buffer> e = http.get(second.managementPort(), "/admin/environments/keep", admin);
                assertThat(e.statusCode()).isEqualTo(200);
                assertThat(e.bodyAsJsonObject().getString("status")).isEqualTo("READY");
                assertThat(http.post(second.publicPort(), "/v1/checkins", ingest,
                        checkIn("k-1", "keep", "dev-k", "2026-11-29T07:00:00Z")).bodyAsJsonObject().getInteger("duplicates"))
                        .isEqualTo(1);
            } finally {
                TestGateway.join(second.stop());
            }
        }
    }

    @Test
    @DisplayName("a gateway process killed with SIGKILL restarts on its embedded directory by itself, every 202 still there")
    void restartAfterKill9() throws Exception {
        int publicPort = freePort();
        int managementPort = freePort();
        Path config = Files.writeString(dir.resolve("gateway.yaml"), "# defaults\n");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.roverlogout.Main", "serve", "--config", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("gateway.log").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("RLG_"));
        pb.environment().putAll(Map.of("RLG_HTTP_HOST", "127.0.0.1", "RLG_HTTP_PORT", Integer.toString(publicPort),
                "RLG_MANAGEMENT_PORT", Integer.toString(managementPort), "RLG_DATABASE_EMBEDDEDDIR", dir.resolve("pg").toString(),
                "RLG_DATADIR", dir.toString(), "RLG_AUTH_ADMINTOKEN", TestGateway.ADMIN, "RLG_AUTH_INGESTTOKEN", TestGateway.INGEST));
        try (Http http = new Http()) {
            Process first = pb.start();
            awaitReady(http, managementPort, first);
            Fixtures.environment(http, managementPort, "killed", "READY");
            for (int i = 0; i < 20; i++) {
                assertThat(http.post(publicPort, "/v1/checkins", TestGateway.INGEST,
                        checkIn("k9-" + i, "killed", "dev-k9-" + i, "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
            }
            first.destroyForcibly().waitFor();

            Process second = pb.start();
            try {
                awaitReady(http, managementPort, second);
                // the killed gateway's PostgreSQL outlived it; the new one found and stopped it before starting its own
                assertThat(Files.readString(dir.resolve("gateway.log"))).contains("left running");
                io.vertx.core.json.JsonArray again = new io.vertx.core.json.JsonArray();
                for (int i = 0; i < 20; i++) {
                    again.add(checkIn("k9-" + i, "killed", "dev-k9-" + i, "2026-11-29T07:00:00Z"));
                }
                HttpResponse<Buffer> r = http.post(publicPort, "/v1/checkins", TestGateway.INGEST,
                        new io.vertx.core.json.JsonObject().put("events", again));
                assertThat(r.bodyAsJsonObject().getInteger("duplicates")).isEqualTo(20);
            } finally {
                second.destroy(); // SIGTERM: a clean stop, which also stops PostgreSQL
                assertThat(second.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            }
            assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine()
                    .map(c -> c.contains(dir.resolve("pg").toString()) && c.contains("postgres")).orElse(false))).isEmpty();
        }
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void awaitReady(Http http, int managementPort, Process process) {
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (System.nanoTime() < deadline) {
            assertThat(process.isAlive()).as("gateway process alive").isTrue();
            try {
                if (http.get(managementPort, "/health/ready", null).statusCode() == 200) {
                    return;
                }
            } catch (RuntimeException notYet) {
                // connection refused while it starts
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("gateway not ready within 90s");
    }

    @Test
    @DisplayName("a second gateway on the same embedded directory fails with a clear message and leaves the first running")
    void secondGatewaySameDirectory() {
        Gateway first = TestGateway.startGateway(TestGateway.config(embeddedIn(dir)));
        try (Http http = new Http()) {
            assertThatThrownBy(() -> TestGateway.startGateway(TestGateway.config(embeddedIn(dir))))
                    .isInstanceOf(DatabaseStartException.class)
                    .hasMessageContaining("in use by another gateway");
            assertThat(http.get(first.managementPort(), "/health/ready", null).statusCode()).isEqualTo(200);
        } finally {
            TestGateway.join(first.stop());
        }
    }

    @Test
    @DisplayName("with the database stopped ingest answers 503 + Retry-After, then recovers without a restart; every 202 is stored")
    void databaseOutage() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path pgDir = dir.resolve("external-pg");
        EmbeddedDatabase db = EmbeddedDatabase.start(pgDir, port);
        String url = db.url();
        Set<String> acknowledged = ConcurrentHashMap.newKeySet();
        try (TestGateway gw = TestGateway.start(url, Map.of("RLG_DATABASE_CONNECTTIMEOUT", "1s",
                "RLG_INGEST_RETRYAFTER", "3s", "RLG_METRICS_QUEUESTATSINTERVAL", "500ms")); Http http = new Http()) {
            Fixtures.environment(http, gw, "outage", "READY");
            AtomicInteger n = new AtomicInteger();
            Runnable send = () -> {
                String id = "out-" + n.incrementAndGet();
                HttpResponse<Buffer> r = http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                        checkIn(id, "outage", "dev-" + id, "2026-11-29T07:00:00Z"));
                if (r.statusCode() == 202) {
                    acknowledged.add(id);
                } else {
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(r.getHeader("Retry-After")).isEqualTo("3");
                }
            };
            for (int i = 0; i < 20; i++) {
                send.run();
            }
            assertThat(acknowledged).hasSize(20);

            db.close();
            List<Integer> during = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                HttpResponse<Buffer> r = http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                        checkIn("down-" + i, "outage", "dev-down-" + i, "2026-11-29T07:00:00Z"));
                during.add(r.statusCode());
                assertThat(r.getHeader("Retry-After")).isEqualTo("3");
            }
            assertThat(during).containsOnly(503);
            assertThat(http.get(gw.managementPort(), "/health/ready", null).statusCode()).isEqualTo(503);
            // SREs see it on /metrics too (the "database unreachable" alert)
            Await.until(() -> http.get(gw.managementPort(), "/metrics", null).bodyAsString().contains("rlg_database_up 0.0"), 10);

            db = EmbeddedDatabase.start(pgDir, port);
            long deadline = System.nanoTime() + 30_000_000_000L;
            int before = acknowledged.size();
            while (acknowledged.size() < before + 20 && System.nanoTime() < deadline) {
                send.run();
            }
            assertThat(acknowledged.size()).isEqualTo(before + 20);
            assertThat(http.get(gw.managementPort(), "/health/ready", null).statusCode()).isEqualTo(200);
            Await.until(() -> http.get(gw.managementPort(), "/metrics", null).bodyAsString().contains("rlg_database_up 1.0"), 10);
            List<Object> stored = column(url, "SELECT event_id FROM device_event WHERE event_id LIKE 'out-%'");
            assertThat(stored).containsAll(acknowledged);
            assertThat(column(url, "SELECT count(*) FROM device_event WHERE event_id LIKE 'down-%'")).containsExactly(0L);
        } finally {
            db.close();
        }
    }

    @Test
    @DisplayName("stopping the gateway answers the requests waiting for their commit, and every one of them is stored")
    void gracefulStop() {
        String url = TestPostgres.newDatabase();
        // a group-commit window longer than the shutdown timeout (5s): only the drain can answer them in time
        TestGateway gw = TestGateway.start(url, Map.of("RLG_INGEST_GROUPCOMMIT_WINDOW", "60s"));
        try (Http http = new Http()) {
            Fixtures.environment(http, gw, "drain", "READY");
            Set<String> acknowledged = ConcurrentHashMap.newKeySet();
            List<Future<?>> calls = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                String id = "drain-" + i;
                calls.add(http.client().post(gw.publicPort(), "127.0.0.1", "/v1/checkins")
                        .bearerTokenAuthentication(TestGateway.INGEST)
                        .sendJsonObject(checkIn(id, "drain", "dev-" + id, "2026-11-29T07:00:00Z"))
                        .onSuccess(r -> {
                            if (r.statusCode() == 202) {
                                acknowledged.add(id);
                            }
                        }));
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (activeRequests(http, gw) < 50 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(activeRequests(http, gw)).isGreaterThanOrEqualTo(50); // + this /metrics request
            gw.close();
            TestGateway.join(Future.join(calls));
            assertThat(acknowledged).hasSize(50);
            assertThat(column(url, "SELECT event_id FROM device_event WHERE event_id LIKE 'drain-%'"))
                    .containsExactlyInAnyOrderElementsOf(new ArrayList<>(acknowledged));
        }
    }

    private static double activeRequests(Http http, TestGateway gw) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "(?m)^vertx_http_server_active_requests\\{[^}]*\\} (\\S+)").matcher(
                http.get(gw.managementPort(), "/metrics", null).bodyAsString());
        double sum = 0;
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }
}
