package dev.roverlogout.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * CI runs the smoke scenario (issue 5): a real gateway with dispatch on, the project's simulator over HTTP, the
 * load driver; the run must pass its criteria (lost, duplicates, calls after check-out, over-limit windows all 0).
 */
class LoadtestSmokeTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("the smoke scenario passes: every accepted check-in called once, none after a check-out, no second over the limit")
    void smoke() throws Exception {
        Scenario s = Scenario.load(Path.of("loadtest", "scenarios", "smoke.yaml"));
        try (TestGateway gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "500ms"));
             Http http = new Http();
             SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray())) {
            Driver.Endpoints ep = new Driver.Endpoints("http://127.0.0.1:" + gw.publicPort(),
                    "http://127.0.0.1:" + gw.managementPort(), sim.url(), TestGateway.ADMIN, TestGateway.INGEST);
            JsonObject report = new Driver(s, ep, System.out).run();
            Files.writeString(dir.resolve("report.html"), Report.html(report));
            JsonObject epic = report.getJsonObject("epic");
            assertThat(report.getJsonObject("pass").getBoolean("passed")).as(report.getJsonObject("pass").encodePrettily()).isTrue();
            // the accounting saw the real thing: check-ins accepted and called, re-sends and invalid requests answered
            assertThat(epic.getLong("acceptedCheckIns")).isEqualTo(1500);
            // devices checked out again may have been called before their check-out arrived: called >= due
            assertThat(epic.getLong("called")).isGreaterThanOrEqualTo(epic.getLong("dueCalls"));
            assertThat(epic.getLong("lost")).isZero();
            assertThat(epic.getLong("dueCalls")).isGreaterThan(1300);
            JsonObject ingest = report.getJsonObject("ingest");
            assertThat(ingest.getLong("duplicateResendsConfirmed")).isEqualTo(ingest.getLong("duplicateResends")).isPositive();
            assertThat(ingest.getLong("invalidRefused")).isEqualTo(ingest.getLong("invalidSent")).isPositive();
            assertThat(report.getJsonArray("series")).isNotEmpty();
            assertThat(Files.readString(dir.resolve("report.html"))).contains("<svg", "PASSED").doesNotContain("<script");
        }
    }
}
