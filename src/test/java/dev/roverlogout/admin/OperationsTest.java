package dev.roverlogout.admin;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.checkOut;
import static dev.roverlogout.testing.Fixtures.environment;
import static dev.roverlogout.testing.TestPostgres.column;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;

/** The operations routes (contract §5) on a dispatching gateway against the simulator. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OperationsTest {
    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms"));
        http = new Http();
        sim = new SimulatedEpic(gw, http, new JsonArray().add(SimulatedEpic.instance(gw, "OPS", "client-ops", "ops")
                .put("rejectDevices", new JsonArray().add("dev-bad").add("dev-bad2").add("dev-bad3"))));
        http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("ops")
                .put("interconnectUrl", sim.url()).put("instance", "OPS").put("allowInsecure", true)
                .put("rateLimitPerSecond", 25).put("burst", 5));
        http.post(gw.managementPort(), "/admin/environments/ops/activate", TestGateway.ADMIN, null);
    }

    @AfterAll
    void stop() {
        sim.close();
        http.close();
        gw.close();
    }

    private String state(String device) {
        List<Object> s = column(gw.databaseUrl(), "SELECT state FROM disassociation_job WHERE environment_id = 'ops' "
                + "AND device_id = ? ORDER BY id DESC LIMIT 1", device);
        return s.isEmpty() ? null : (String) s.get(0);
    }

    private JsonObject get(String path) {
        HttpResponse<Buffer> r = http.get(gw.managementPort(), path, TestGateway.ADMIN);
        assertThat(r.statusCode()).as(path + ": " + r.bodyAsString()).isEqualTo(200);
        return r.bodyAsJsonObject();
    }

    private long calls(String device) {
        return sim.stats("OPS").getJsonObject("callsPerDevice").getLong(device, 0L);
    }

    @Test
    @DisplayName("a dead letter is listed with Epic's message, its history shows the event and the 400 attempt, "
            + "and a replay after Epic is fixed makes the call: the history then shows both attempts, newest first")
    void deadLetterHistoryAndReplay() throws Exception {
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("ops-bad-1", "ops", "dev-bad", "2026-11-29T07:00:00Z"));
        Await.until(() -> "failed".equals(state("dev-bad")), 20);

        JsonArray dead = get("/admin/dead-letters?environmentId=ops").getJsonArray("deadLetters");
        JsonObject letter = dead.stream().map(JsonObject.class::cast).filter(d -> d.getString("deviceId").equals("dev-bad"))
                .findFirst().orElseThrow();
        assertThat(letter.getInteger("lastStatus")).isEqualTo(400);
        assertThat(letter.getString("lastError")).contains("cannot be disassociated");
        long jobId = letter.getLong("id");

        JsonObject history = get("/admin/devices/dev-bad/history?environmentId=ops");
        assertThat(history.getJsonArray("events")).hasSize(1);
        assertThat(history.getJsonArray("events").getJsonObject(0).getString("outcome")).isEqualTo("queued");
        assertThat(history.getJsonArray("jobs").getJsonObject(0).getString("state")).isEqualTo("failed");
        JsonObject attempt = history.getJsonArray("attempts").getJsonObject(0);
        assertThat(attempt.getInteger("httpStatus")).isEqualTo(400);
        assertThat(attempt.getString("outcome")).isEqualTo("failed");
        assertThat(attempt.getString("replica")).isNotBlank();
        assertThat(attempt.getString("requestId")).isNotBlank();

        sim.configure("OPS", new JsonObject().put("rejectDevices", new JsonArray().add("dev-bad2").add("dev-bad3")));
        HttpResponse<Buffer> replay = http.post(gw.managementPort(), "/admin/dead-letters/replay", TestGateway.ADMIN,
                new JsonObject().put("ids", new JsonArray().add(jobId)));
        assertThat(replay.statusCode()).as(replay.bodyAsString()).isEqualTo(200);
        assertThat(replay.bodyAsJsonObject().getJsonArray("replayed").getLong(0)).isEqualTo(jobId);
        Await.until(() -> "done".equals(state("dev-bad")), 20);
        assertThat(calls("dev-bad")).isEqualTo(1); // the simulator counts disassociations made (not the 400)

        JsonArray attempts = get("/admin/devices/dev-bad/history?environmentId=ops").getJsonArray("attempts");
        assertThat(attempts).hasSize(2);
        assertThat(attempts.getJsonObject(0).getString("outcome")).isEqualTo("done");
        assertThat(attempts.getJsonObject(1).getString("outcome")).isEqualTo("failed");
        assertThat(get("/admin/dead-letters?environmentId=ops").getJsonArray("deadLetters").stream()
                .map(JsonObject.class::cast).map(d -> d.getLong("id"))).doesNotContain(jobId);
    }

    @Test
    @DisplayName("a replay never logs out the next user: a dead letter whose device was checked out since stays failed")
    void replayRespectsCheckOut() throws Exception {
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("ops-bad2-1", "ops", "dev-bad2", "2026-11-29T07:00:00Z"));
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("ops-bad3-1", "ops", "dev-bad3", "2026-11-29T07:00:00Z"));
        Await.until(() -> "failed".equals(state("dev-bad2")) && "failed".equals(state("dev-bad3")), 20);
        // dev-bad2 goes to the next nurse
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkOut("ops-bad2-2", "ops", "dev-bad2", "2026-11-29T07:10:00Z"));
        sim.configure("OPS", new JsonObject().put("rejectDevices", new JsonArray()));

        JsonObject result = http.post(gw.managementPort(), "/admin/dead-letters/replay", TestGateway.ADMIN,
                new JsonObject().put("environmentId", "ops")).bodyAsJsonObject();
        assertThat(result.getJsonArray("skipped").stream().map(JsonObject.class::cast)
                .filter(s -> s.getString("reason").equals("checked_out_since"))).as(result.encode()).hasSize(1);
        Await.until(() -> "done".equals(state("dev-bad3")), 20);
        Thread.sleep(500);
        assertThat(state("dev-bad2")).isEqualTo("failed");
        assertThat(calls("dev-bad2")).isZero(); // only the original 400, which disassociated nothing
        assertThat(calls("dev-bad3")).isEqualTo(1);
    }

    @Test
    @DisplayName("bad replay requests get problem details naming the field, and change nothing")
    void replayValidation() {
        for (JsonObject body : List.of(new JsonObject(),
                new JsonObject().put("ids", new JsonArray().add(1)).put("environmentId", "ops"),
                new JsonObject().put("ids", new JsonArray().add("x")),
                new JsonObject().put("ids", new JsonArray()),
                new JsonObject().put("environmentId", "Not Valid"),
                new JsonObject().put("ids", new JsonArray().add(1)).put("extra", true),
                new JsonObject().put("ids", new JsonArray().add(new java.math.BigInteger("18446744073709551617"))),
                new JsonObject().put("ids", new JsonArray().add(1.5)),
                new JsonObject().put("ids", new JsonArray().add(1)).putNull("environmentId"))) {
            HttpResponse<Buffer> r = http.post(gw.managementPort(), "/admin/dead-letters/replay", TestGateway.ADMIN, body);
            assertThat(r.statusCode()).as(body.encode()).isEqualTo(400);
            assertThat(r.getHeader("Content-Type")).startsWith("application/problem+json");
            assertThat(r.bodyAsJsonObject().getJsonArray("errors")).as(body.encode()).isNotEmpty();
        }
        assertThat(http.post(gw.managementPort(), "/admin/dead-letters/replay", TestGateway.ADMIN,
                new JsonObject().put("environmentId", "no-such-env")).statusCode()).isEqualTo(404);
        assertThat(http.get(gw.managementPort(), "/admin/dead-letters?limit=0", TestGateway.ADMIN).statusCode()).isEqualTo(400);
        assertThat(http.get(gw.managementPort(), "/admin/devices/nobody/history", TestGateway.ADMIN).statusCode()).isEqualTo(404);
        assertThat(http.get(gw.managementPort(), "/admin/queue?environmentId=no-such-env", TestGateway.ADMIN).statusCode()).isEqualTo(404);
        assertThat(http.get(gw.managementPort(), "/admin/queue", null).statusCode()).isEqualTo(401);
        assertThat(http.get(gw.managementPort(), "/admin/queue", TestGateway.INGEST).statusCode()).isEqualTo(403);
    }

    @Test
    @DisplayName("the queue view shows depth, in flight, outcomes of the last 5 minutes, rates, circuit and the owning replica")
    void queueView() throws Exception {
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("ops-q-1", "ops", "dev-q1", "2026-11-29T07:00:00Z"));
        Await.until(() -> "done".equals(state("dev-q1")), 20);
        Await.until(() -> get("/admin/queue?environmentId=ops").getJsonArray("environments").getJsonObject(0)
                .getJsonObject("owner") != null, 10);
        JsonObject q = get("/admin/queue?environmentId=ops");
        JsonObject ops = q.getJsonArray("environments").getJsonObject(0);
        assertThat(ops.getString("environmentId")).isEqualTo("ops");
        assertThat(ops.getString("status")).isEqualTo("READY");
        assertThat(ops.getLong("queued")).isZero();
        assertThat(ops.getLong("inFlight")).isZero();
        assertThat(ops.getJsonObject("last5Minutes").getLong("done")).isPositive();
        assertThat(ops.getJsonObject("rate").getDouble("configuredPerSecond")).isEqualTo(25.0);
        assertThat(ops.getString("circuit")).isEqualTo("closed");
        String owner = ops.getJsonObject("owner").getString("replica");
        assertThat(q.getJsonArray("replicas").stream().map(JsonObject.class::cast).map(r -> r.getString("id"))).contains(owner);

        // a paused environment's backlog shows as queued, with its age
        http.post(gw.managementPort(), "/admin/environments/ops/pause", TestGateway.ADMIN, null);
        try {
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("ops-q-2", "ops", "dev-q2", "2026-11-29T07:00:00Z"));
            JsonObject paused = get("/admin/queue?environmentId=ops").getJsonArray("environments").getJsonObject(0);
            assertThat(paused.getString("status")).isEqualTo("PAUSED");
            assertThat(paused.getLong("queued")).isEqualTo(1);
            assertThat(paused.getDouble("oldestQueuedAgeSeconds")).isGreaterThanOrEqualTo(0.0);
        } finally {
            http.post(gw.managementPort(), "/admin/environments/ops/resume", TestGateway.ADMIN, null);
        }
        Await.until(() -> "done".equals(state("dev-q2")), 20);
    }

    @Test
    @DisplayName("a check-in's X-Request-ID travels: echoed on the 202, sent to Epic, stored in the history, and on the "
            + "lane's log line for the call; a refused request's log line carries its id too (and no token)")
    void requestIdTravels() throws Exception {
        ch.qos.logback.classic.Logger lane = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                "dev.roverlogout.dispatch.Lane");
        ch.qos.logback.classic.Logger ingest = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                "dev.roverlogout.ingest.CheckInRoutes");
        var captured = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        captured.start();
        ch.qos.logback.classic.Level before = lane.getLevel();
        lane.setLevel(ch.qos.logback.classic.Level.DEBUG);
        lane.addAppender(captured);
        ingest.addAppender(captured);
        try {
            HttpResponse<Buffer> accepted = TestGateway.join(http.client().post(gw.publicPort(), "127.0.0.1", "/v1/checkins")
                    .bearerTokenAuthentication(TestGateway.INGEST).putHeader("X-Request-ID", "locker-7:trace-42")
                    .sendJsonObject(checkIn("trace-1", "ops", "dev-traced", "2026-11-29T07:00:00Z")));
            assertThat(accepted.statusCode()).isEqualTo(202);
            assertThat(accepted.getHeader("X-Request-ID")).isEqualTo("locker-7:trace-42");
            Await.until(() -> "done".equals(state("dev-traced")), 20);

            JsonObject atEpic = http.get(sim.port(), "/_sim/instances/OPS/calls", null).bodyAsJsonObject()
                    .getJsonObject("devices").getJsonObject("dev-traced");
            assertThat(atEpic.getString("requestId")).isEqualTo("locker-7:trace-42");
            JsonObject history = get("/admin/devices/dev-traced/history?environmentId=ops");
            assertThat(history.getJsonArray("events").getJsonObject(0).getString("requestId")).isEqualTo("locker-7:trace-42");
            assertThat(history.getJsonArray("attempts").getJsonObject(0).getString("requestId")).isEqualTo("locker-7:trace-42");
            Await.until(() -> captured.list.stream().anyMatch(e -> keyValue(e, "deviceId").equals("dev-traced")), 5);
            ch.qos.logback.classic.spi.ILoggingEvent call = captured.list.stream()
                    .filter(e -> keyValue(e, "deviceId").equals("dev-traced")).findFirst().orElseThrow();
            assertThat(keyValue(call, "requestId")).isEqualTo("locker-7:trace-42");
            assertThat(keyValue(call, "environment")).isEqualTo("ops");
            assertThat(call.getFormattedMessage()).contains("done");

            HttpResponse<Buffer> refused = TestGateway.join(http.client().post(gw.publicPort(), "127.0.0.1", "/v1/checkins")
                    .bearerTokenAuthentication(TestGateway.INGEST).putHeader("X-Request-ID", "locker-7:trace-43")
                    .sendJsonObject(new JsonObject().put("eventId", "")));
            assertThat(refused.statusCode()).isEqualTo(400);
            ch.qos.logback.classic.spi.ILoggingEvent refusal = captured.list.stream()
                    .filter(e -> keyValue(e, "requestId").equals("locker-7:trace-43")).findFirst().orElseThrow();
            assertThat(keyValue(refusal, "httpStatus")).isEqualTo("400");
            assertThat(captured.list.stream().map(e -> e.getFormattedMessage() + e.getKeyValuePairs()))
                    .noneMatch(line -> line.contains(TestGateway.INGEST));
        } finally {
            lane.detachAppender(captured);
            ingest.detachAppender(captured);
            lane.setLevel(before);
        }
    }

    private static String keyValue(ch.qos.logback.classic.spi.ILoggingEvent e, String key) {
        return e.getKeyValuePairs() == null ? "" : e.getKeyValuePairs().stream().filter(kv -> kv.key.equals(key))
                .map(kv -> String.valueOf(kv.value)).findFirst().orElse("");
    }
}
