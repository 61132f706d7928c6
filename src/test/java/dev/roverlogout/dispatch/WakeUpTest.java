package dev.roverlogout.dispatch;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;

/** An idle lane does not spin, yet a new check-in is sent at once: PostgreSQL NOTIFY wakes the lane. */
class WakeUpTest {
    @Test
    @DisplayName("with a 60 s fallback poll and 20 s lease renewals, a new check-in is still called within 3 s")
    void notifyWakesIdleLane() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "60s",
                "RLG_DISPATCH_POLLINTERVAL", "60s")); Http http = new Http();
             SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray().add(SimulatedEpic.instance(gw, "W", "client-wake", "wake")))) {
            http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("wake")
                    .put("interconnectUrl", sim.url()).put("instance", "W").put("allowInsecure", true));
            http.post(gw.managementPort(), "/admin/environments/wake/activate", TestGateway.ADMIN, null);
            // first call: once it is made, the lane has claimed, found the queue empty and gone to sleep
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("w-1", "wake", "dev-1", "2026-11-29T07:00:00Z"));
            awaitDevice(sim, "dev-1", 30);
            Thread.sleep(1_000);
            long sent = System.nanoTime();
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("w-2", "wake", "dev-2", "2026-11-29T07:00:00Z"));
            awaitDevice(sim, "dev-2", 3);
            System.out.printf("idle lane woken: check-in to Epic call in %d ms%n", (System.nanoTime() - sent) / 1_000_000);
        }
    }

    private static void awaitDevice(SimulatedEpic sim, String device, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (!sim.stats("W").getJsonObject("callsPerDevice").containsKey(device)) {
            assertThat(System.nanoTime()).as(device + " called within " + seconds + " s").isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
