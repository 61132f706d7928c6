package dev.roverlogout.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.HostileOracle;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/**
 * Replays the fuzzing corpus in {@code src/test/resources/fuzz/} (see its README) and the seeds too big to store: every
 * one is a 4xx problem, stores nothing, and the gateway stays ready.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FuzzCorpusTest {
    private static final Path CORPUS = Path.of("src", "test", "resources", "fuzz");
    private static final String[] STATUS_ROUTES = {"activate", "pause", "resume", "disable"};

    private TestGateway gw;
    private Http http;
    private HostileOracle oracle;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
        oracle = new HostileOracle(gw, http);
        Fixtures.environment(http, gw, "fz-ready", "READY");
        Fixtures.environment(http, gw, "fz-patch", "PENDING");
        Fixtures.environment(http, gw, "fz-status", "READY");
    }

    @AfterAll
    void stop() {
        oracle.assertHealthy();
        oracle.close();
        http.close();
        gw.close();
    }

    @TestFactory
    @DisplayName("every seed of the corpus is a 4xx problem that stores nothing")
    Stream<DynamicTest> corpus() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        seeds("checkins").forEach(f -> tests.add(DynamicTest.dynamicTest("checkins/" + f.getFileName(),
                () -> refused(HttpMethod.POST, false, "/v1/checkins", TestGateway.INGEST, Files.readAllBytes(f)))));
        seeds("environments-create").forEach(f -> tests.add(DynamicTest.dynamicTest("environments-create/" + f.getFileName(),
                () -> refused(HttpMethod.POST, true, "/admin/environments", TestGateway.ADMIN, Files.readAllBytes(f)))));
        seeds("environments-patch").forEach(f -> tests.add(DynamicTest.dynamicTest("environments-patch/" + f.getFileName(),
                () -> refusedOrNoChange(f))));
        seeds("replay").forEach(f -> tests.add(DynamicTest.dynamicTest("replay/" + f.getFileName(),
                () -> refused(HttpMethod.POST, true, "/admin/dead-letters/replay", TestGateway.ADMIN, Files.readAllBytes(f)))));
        seeds("status").forEach(f -> tests.add(DynamicTest.dynamicTest("status/" + f.getFileName(), () -> {
            for (String route : STATUS_ROUTES) {
                refused(HttpMethod.POST, true, "/admin/environments/fz-status/" + route, TestGateway.ADMIN, Files.readAllBytes(f));
            }
        })));
        for (String line : Files.readAllLines(CORPUS.resolve("paths/paths.txt"))) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.split(" ", 2);
            tests.add(DynamicTest.dynamicTest("paths: " + line, () -> {
                var r = oracle.send(HttpMethod.valueOf(parts[0]), !parts[1].startsWith("/jwks") && !parts[1].startsWith("/v1"),
                        parts[1], parts[1].startsWith("/v1") ? TestGateway.INGEST : TestGateway.ADMIN, null, null);
                assertThat(r.statusCode()).as(line).isBetween(400, 499);
            }));
        }
        assertThat(tests).hasSizeGreaterThan(60);
        return tests.stream();
    }

    /**
     * An empty PATCH, and one naming fields with null (read as not named), are valid no-ops (200); everything else in
     * the directory is refused. Neither changes a row.
     */
    private void refusedOrNoChange(Path f) throws IOException {
        String before = oracle.counts();
        var r = oracle.send(HttpMethod.PATCH, true, "/admin/environments/fz-patch", TestGateway.ADMIN, "application/json",
                Buffer.buffer(Files.readAllBytes(f)));
        if (!List.of("empty-object.json", "null-rate.json").contains(f.getFileName().toString())) {
            assertThat(r.statusCode()).as(f.toString()).isBetween(400, 499);
        }
        assertThat(oracle.counts()).isEqualTo(before);
    }

    private void refused(HttpMethod method, boolean management, String path, String token, byte[] body) {
        var r = oracle.send(method, management, path, token, "application/json", Buffer.buffer(body));
        assertThat(r.statusCode()).as(path + " " + new String(body, 0, Math.min(body.length, 200),
                java.nio.charset.StandardCharsets.UTF_8)).isBetween(400, 499);
    }

    private static List<Path> seeds(String dir) throws IOException {
        try (Stream<Path> files = Files.list(CORPUS.resolve(dir))) {
            return files.sorted().toList();
        }
    }

    @Test
    @DisplayName("a 10 MB body is 413 on ingest and on the admin API, and the gateway stays ready")
    void tenMegabytes() {
        Buffer big = Buffer.buffer("{\"eventId\":\"" + "x".repeat(10 * 1024 * 1024) + "\"}");
        HttpResponse<Buffer> ingest = oracle.send(HttpMethod.POST, false, "/v1/checkins", TestGateway.INGEST,
                "application/json", big);
        assertThat(ingest.statusCode()).isEqualTo(413);
        HttpResponse<Buffer> admin = oracle.send(HttpMethod.POST, true, "/admin/environments", TestGateway.ADMIN,
                "application/json", big);
        assertThat(admin.statusCode()).isEqualTo(413);
        oracle.assertHealthy();
    }

    @Test
    @DisplayName("a 1001-event batch is 400 naming events; a 1000-event batch with one bad event is 400 naming its index")
    void batches() {
        JsonArray many = new JsonArray();
        for (int i = 0; i < 1001; i++) {
            many.add(Fixtures.checkIn("fzb-" + i, "fz-ready", "dev-fzb-" + i, "2026-11-29T07:00:00Z"));
        }
        HttpResponse<Buffer> tooMany = oracle.send(HttpMethod.POST, false, "/v1/checkins", TestGateway.INGEST,
                "application/json", new JsonObject().put("events", many).toBuffer());
        assertThat(tooMany.statusCode()).isEqualTo(400);
        assertThat(tooMany.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("events");
        many.remove(1000);
        many.set(999, Fixtures.checkIn("fzb-999", "fz-ready", "dev\u0000", "2026-11-29T07:00:00Z"));
        HttpResponse<Buffer> oneBad = oracle.send(HttpMethod.POST, false, "/v1/checkins", TestGateway.INGEST,
                "application/json", new JsonObject().put("events", many).toBuffer());
        assertThat(oneBad.statusCode()).isEqualTo(400);
        JsonObject error = oneBad.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0);
        assertThat(error.getInteger("index")).isEqualTo(999);
        assertThat(error.getString("field")).isEqualTo("deviceId");
    }

    @Test
    @DisplayName("a string just under the 1 MiB body limit is 400 naming the field, not a failure")
    void nearLimitString() {
        Buffer body = Fixtures.checkIn("fz-long", "fz-ready", "d-1", "2026-11-29T07:00:00Z")
                .put("lockerId", "l".repeat(1000 * 1000)).toBuffer();
        HttpResponse<Buffer> r = oracle.send(HttpMethod.POST, false, "/v1/checkins", TestGateway.INGEST, "application/json", body);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.bodyAsJsonObject().getJsonArray("errors").getJsonObject(0).getString("field")).isEqualTo("lockerId");
    }
}
