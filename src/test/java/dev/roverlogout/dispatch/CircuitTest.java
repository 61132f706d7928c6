package dev.roverlogout.dispatch;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** An Epic outage opens the environment's circuit: a bounded number of calls, then the backlog drains after it. */
class CircuitTest {
    @Test
    @DisplayName("during an outage the circuit opens and calls stay bounded; once Epic is back every device is called once")
    void outage() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_DISPATCH_CIRCUIT_MAXFAILURES", "3",
                "RLG_DISPATCH_CIRCUIT_RESETTIMEOUT", "1s", "RLG_DISPATCH_RETRY_BASE", "100ms", "RLG_DISPATCH_RETRY_CAP", "1s"));
             Http http = new Http();
             SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray()
                     .add(SimulatedEpic.instance(gw, "OUT", "client-out", "out").put("outage", true)))) {
            http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("out")
                    .put("interconnectUrl", sim.url()).put("instance", "OUT").put("allowInsecure", true)
                    .put("rateLimitPerSecond", 50).put("burst", 10).put("maxConcurrency", 4));
            http.post(gw.managementPort(), "/admin/environments/out/activate", TestGateway.ADMIN, null);
            JsonArray events = new JsonArray();
            for (int i = 0; i < 40; i++) {
                events.add(checkIn("out-" + i, "out", "dev-" + i, "2026-11-29T07:00:00Z"));
            }
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events));
            Await.until(() -> http.get(gw.managementPort(), "/metrics", null).bodyAsString()
                    .matches("(?s).*rlg_circuit_open\\{environment=\"out\"} (1\\.0|0\\.5).*"), 10);
            Thread.sleep(3_000); // three reset periods of outage: only probes get through
            long duringOutage = sim.stats("OUT").getLong("injectedErrors");
            // 3 failures open it; up to 4 were in flight at that moment; then one probe per second at most
            assertThat(duringOutage).isLessThanOrEqualTo(3 + 4 + 5);

            sim.configure("OUT", new JsonObject().put("outage", false));
            Await.until(() -> sim.stats("OUT").getLong("devices") == 40, 60);
            assertThat(sim.stats("OUT").getLong("duplicateCalls")).isZero();
            System.out.printf("outage: %d calls reached the down Epic; all 40 devices called after it%n", duringOutage);
        }
    }
}
