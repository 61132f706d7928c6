package dev.roverlogout.dispatch;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.checkOut;
import static dev.roverlogout.testing.Fixtures.environment;
import static dev.roverlogout.testing.TestPostgres.column;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Lanes end to end: ingest → PostgreSQL → lane → the project's Epic simulator over real HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DispatchTest {
    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms"));
        http = new Http();
        sim = new SimulatedEpic(gw, http, new JsonArray()
                .add(SimulatedEpic.instance(gw, "RATE", "client-d-rate", "d-rate"))
                .add(SimulatedEpic.instance(gw, "FENCE", "client-d-fence", "d-fence"))
                .add(SimulatedEpic.instance(gw, "PUSH", "client-d-push", "d-push").put("rateLimitPerSecond", 20))
                .add(SimulatedEpic.instance(gw, "PAUSE", "client-d-pause", "d-pause"))
                .add(SimulatedEpic.instance(gw, "HELD", "client-d-held", "d-held")));
        create("d-pause", "PAUSE");
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("d-held")
                .put("interconnectUrl", sim.url()).put("instance", "HELD").put("allowInsecure", true)
                .put("rateLimitPerSecond", 2).put("burst", 1).put("maxConcurrency", 8)).statusCode()).isEqualTo(201);
        create("d-rate", "RATE");
        create("d-fence", "FENCE");
        create("d-push", "PUSH");
    }

    private void create(String id, String instance) {
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(id)
                .put("interconnectUrl", sim.url()).put("instance", instance).put("allowInsecure", true)
                .put("rateLimitPerSecond", 50).put("burst", 10).put("maxConcurrency", 8)).statusCode()).isEqualTo(201);
    }

    @AfterAll
    void stop() {
        sim.close();
        http.close();
        gw.close();
    }

    @Test
    @DisplayName("1,000 check-ins to an environment limited to 50/s (burst 10): every device called exactly once, no second over 60")
    void rateAccuracy() throws Exception {
        http.post(gw.managementPort(), "/admin/environments/d-rate/activate", TestGateway.ADMIN, null);
        for (int b = 0; b < 10; b++) {
            JsonArray events = new JsonArray();
            for (int i = 0; i < 100; i++) {
                int n = b * 100 + i;
                events.add(checkIn("rate-" + n, "d-rate", "dev-" + n, "2026-11-29T07:00:00Z"));
            }
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events))
                    .statusCode()).isEqualTo(202);
        }
        long start = System.nanoTime();
        Await.until(() -> sim.stats("RATE").getLong("devices") == 1000, 90);
        double seconds = (System.nanoTime() - start) / 1e9;
        JsonObject stats = sim.stats("RATE");
        assertThat(stats.getLong("duplicateCalls")).isZero();
        assertThat(stats.getLong("maxCallsPerSecond")).isLessThanOrEqualTo(60);
        Await.until(() -> column(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE environment_id = 'd-rate' "
                + "AND state = 'done'").get(0).equals(1000L), 10);
        System.out.printf("rate accuracy: 1000 calls in %.1f s, max %d in one second%n", seconds, stats.getLong("maxCallsPerSecond"));
    }

    @Test
    @DisplayName("a check-out before dispatch means Epic is never called for that device")
    void checkOutBeforeDispatch() throws Exception {
        // PAUSED queues without sending: the check-out lands while the job is still queued
        http.post(gw.managementPort(), "/admin/environments/d-fence/activate", TestGateway.ADMIN, null);
        http.post(gw.managementPort(), "/admin/environments/d-fence/pause", TestGateway.ADMIN, null);
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("f-1", "d-fence", "dev-next-user", "2026-11-29T07:00:00Z"));
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkOut("f-2", "d-fence", "dev-next-user", "2026-11-29T07:01:00Z"));
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("f-3", "d-fence", "dev-sentinel", "2026-11-29T07:02:00Z"));
        http.post(gw.managementPort(), "/admin/environments/d-fence/resume", TestGateway.ADMIN, null);
        Await.until(() -> sim.stats("FENCE").getJsonObject("callsPerDevice").containsKey("dev-sentinel"), 30);
        assertThat(sim.stats("FENCE").getJsonObject("callsPerDevice").containsKey("dev-next-user")).isFalse();
    }

    @Test
    @DisplayName("429s from an Epic slower than configured lower the rate in force (AIMD); every device is still called once")
    void pushBack() throws Exception {
        http.post(gw.managementPort(), "/admin/environments/d-push/activate", TestGateway.ADMIN, null);
        JsonArray events = new JsonArray();
        for (int i = 0; i < 300; i++) {
            events.add(checkIn("push-" + i, "d-push", "dev-" + i, "2026-11-29T07:00:00Z"));
        }
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events));
        double lowest = 50;
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (sim.stats("PUSH").getLong("devices") < 300) {
            assertThat(System.nanoTime()).as("all devices called within 90 s").isLessThan(deadline);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                    "rlg_rate_limit_per_second\\{environment=\"d-push\"} (\\S+)").matcher(
                    http.get(gw.managementPort(), "/metrics", null).bodyAsString());
            if (m.find()) {
                lowest = Math.min(lowest, Double.parseDouble(m.group(1)));
            }
            Thread.sleep(100);
        }
        JsonObject stats = sim.stats("PUSH");
        assertThat(stats.getLong("rateLimited")).isPositive();
        assertThat(lowest).isLessThan(50);
        assertThat(stats.getLong("duplicateCalls")).isZero();
        assertThat(stats.getLong("maxCallsPerSecond")).isLessThanOrEqualTo(20);
        System.out.printf("push-back: %d 429s, rate in force went down to %.1f/s%n", stats.getLong("rateLimited"), lowest);

        // Epic allows more again: the rate in force climbs back to the configured ceiling (additive increase)
        sim.configure("PUSH", new JsonObject().put("rateLimitPerSecond", 0));
        Await.until(() -> http.get(gw.managementPort(), "/metrics", null).bodyAsString()
                .contains("rlg_rate_limit_per_second{environment=\"d-push\"} 50.0"), 30);
    }

    @Test
    @DisplayName("/pause stops the calls within a second, /resume continues the backlog: every device called once")
    void pauseAndResume() throws Exception {
        http.post(gw.managementPort(), "/admin/environments/d-pause/activate", TestGateway.ADMIN, null);
        JsonArray events = new JsonArray();
        for (int i = 0; i < 300; i++) {
            events.add(checkIn("pause-" + i, "d-pause", "dev-" + i, "2026-11-29T07:00:00Z"));
        }
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events));
        Await.until(() -> sim.stats("PAUSE").getLong("devices") >= 50, 30);
        http.post(gw.managementPort(), "/admin/environments/d-pause/pause", TestGateway.ADMIN, null);
        Thread.sleep(1_000);
        long afterOneSecond = sim.stats("PAUSE").getLong("devices");
        Thread.sleep(2_000);
        assertThat(sim.stats("PAUSE").getLong("devices")).as("no calls later than a second after /pause")
                .isEqualTo(afterOneSecond);
        assertThat(afterOneSecond).isLessThan(300);
        http.post(gw.managementPort(), "/admin/environments/d-pause/resume", TestGateway.ADMIN, null);
        Await.until(() -> sim.stats("PAUSE").getLong("devices") == 300, 30);
        assertThat(sim.stats("PAUSE").getLong("duplicateCalls")).isZero();
    }

    @Test
    @DisplayName("a check-out of a device whose job is claimed but still waiting for a token cancels it: Epic is never called")
    void checkOutOfHeldJob() throws Exception {
        // 2 calls/s, burst 1: of two jobs claimed together the second waits ~500 ms for its token
        http.post(gw.managementPort(), "/admin/environments/d-held/activate", TestGateway.ADMIN, null);
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, Fixtures.batch(
                checkIn("h-1", "d-held", "dev-first", "2026-11-29T07:00:00Z"),
                checkIn("h-2", "d-held", "dev-held", "2026-11-29T07:00:00Z"))).statusCode()).isEqualTo(202);
        Await.until(() -> sim.stats("HELD").getJsonObject("callsPerDevice").containsKey("dev-first"), 10);
        JsonObject out = http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                checkOut("h-3", "d-held", "dev-held", "2026-11-29T07:01:00Z")).bodyAsJsonObject();
        String outcome = out.getJsonArray("results").getJsonObject(0).getString("outcome");
        Thread.sleep(1_500); // well past the token the held job waited for
        assertThat(sim.stats("HELD").getJsonObject("callsPerDevice").containsKey("dev-held"))
                .as("check-out answered " + outcome).isFalse();
        assertThat(column(gw.databaseUrl(), "SELECT state FROM disassociation_job WHERE environment_id = 'd-held' "
                + "AND device_id = 'dev-held'")).containsExactly("cancelled");
    }
}
