package dev.roverlogout.dispatch;

import static dev.roverlogout.testing.Fixtures.checkIn;
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
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** What each kind of Epic answer does to a job, end to end through a lane. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutcomesTest {
    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_DISPATCH_RETRY_BASE", "200ms", "RLG_DISPATCH_RETRY_CAP", "1s",
                "RLG_DISPATCH_MAXAGE", "2s", "RLG_DISPATCH_CIRCUIT_MAXFAILURES", "1000"));
        http = new Http();
        sim = new SimulatedEpic(gw, http, new JsonArray()
                .add(SimulatedEpic.instance(gw, "O", "client-o", "o")
                        .put("rejectDevices", new JsonArray().add("dev-bad")).put("unknownDevices", new JsonArray().add("dev-gone")))
                .add(SimulatedEpic.instance(gw, "FLAKY", "client-flaky", "flaky").put("errorRate", 1.0))
                .add(SimulatedEpic.instance(gw, "OLD", "client-old", "old")));
        for (String[] e : new String[][] {{"o", "O"}, {"flaky", "FLAKY"}, {"old", "OLD"}}) {
            http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(e[0])
                    .put("interconnectUrl", sim.url()).put("instance", e[1]).put("allowInsecure", true));
        }
    }

    @AfterAll
    void stop() {
        sim.close();
        http.close();
        gw.close();
    }

    private List<Object> job(String env, String device, String column) {
        return column(gw.databaseUrl(), "SELECT " + column + " FROM disassociation_job WHERE environment_id = ? AND device_id = ?",
                env, device);
    }

    @Test
    @DisplayName("a 400 is dead-lettered at once with Epic's message; a 404 ends not_associated; a 2xx done")
    void finalOutcomes() throws Exception {
        http.post(gw.managementPort(), "/admin/environments/o/activate", TestGateway.ADMIN, null);
        for (String d : new String[] {"dev-bad", "dev-gone", "dev-ok"}) {
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("o-" + d, "o", d, "2026-11-29T07:00:00Z"));
        }
        Await.until(() -> job("o", "dev-bad", "state").equals(List.of("failed"))
                && job("o", "dev-gone", "state").equals(List.of("not_associated"))
                && job("o", "dev-ok", "state").equals(List.of("done")), 20);
        assertThat(job("o", "dev-bad", "attempts")).containsExactly(1);
        assertThat((String) job("o", "dev-bad", "last_error").get(0)).contains("400").contains("cannot be disassociated");
    }

    @Test
    @DisplayName("5xx answers are retried with backoff, and the job is done once Epic answers")
    void retriedWithBackoff() throws Exception {
        http.post(gw.managementPort(), "/admin/environments/flaky/activate", TestGateway.ADMIN, null);
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("fl-1", "flaky", "dev-f", "2026-11-29T07:00:00Z"));
        Await.until(() -> ((Integer) job("flaky", "dev-f", "attempts").get(0)) >= 3, 20);
        assertThat(job("flaky", "dev-f", "state").get(0)).isIn("queued", "sending");
        sim.configure("FLAKY", new JsonObject().put("errorRate", 0.0));
        Await.until(() -> job("flaky", "dev-f", "state").equals(List.of("done")), 20);
        assertThat(sim.stats("FLAKY").getJsonObject("callsPerDevice").getLong("dev-f")).isEqualTo(1);
    }

    @Test
    @DisplayName("a job older than dispatch.maxAge expires instead of calling Epic (pause and resume around it)")
    void expiresAfterMaxAge() throws Exception {
        http.post(gw.managementPort(), "/admin/environments/old/activate", TestGateway.ADMIN, null);
        http.post(gw.managementPort(), "/admin/environments/old/pause", TestGateway.ADMIN, null);
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("old-1", "old", "dev-old", "2026-11-29T07:00:00Z"));
        Thread.sleep(2_500); // older than dispatch.maxAge (2 s) while paused
        http.post(gw.managementPort(), "/admin/environments/old/resume", TestGateway.ADMIN, null);
        Await.until(() -> job("old", "dev-old", "state").equals(List.of("expired")), 20);
        assertThat(sim.stats("OLD").getJsonObject("callsPerDevice").containsKey("dev-old")).isFalse();
    }
}
