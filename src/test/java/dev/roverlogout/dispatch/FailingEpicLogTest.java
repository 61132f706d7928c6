package dev.roverlogout.dispatch;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** An environment whose Interconnect host does not resolve is visible in the log at once, and its recovery too. */
class FailingEpicLogTest {
    @Test
    @DisplayName("an unresolvable Interconnect host: one WARN with the network error and request id while it retries, "
            + "an INFO once calls succeed again")
    void failingEnvironmentIsLogged() throws Exception {
        Logger lane = (Logger) LoggerFactory.getLogger(Lane.class);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        lane.addAppender(captured);
        try (TestGateway gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_DISPATCH_RETRY_BASE", "100ms", "RLG_DISPATCH_RETRY_CAP", "300ms",
                "RLG_DISPATCH_CIRCUIT_RESETTIMEOUT", "1s"));
             Http http = new Http();
             SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray().add(SimulatedEpic.instance(gw, "UP", "client-fl-down", "fl-down")))) {
            assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("fl-down")
                    .put("interconnectUrl", "http://rlg-no-such-host.invalid").put("instance", "UP").put("allowInsecure", true)
                    .put("rateLimitPerSecond", 50)).statusCode()).isEqualTo(201);
            http.post(gw.managementPort(), "/admin/environments/fl-down/activate", TestGateway.ADMIN, null);
            JsonArray events = new JsonArray();
            for (int i = 0; i < 20; i++) {
                events.add(checkIn("fl-" + i, "fl-down", "dev-" + i, "2026-11-29T07:00:00Z"));
            }
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events));

            Await.until(() -> lines(captured, Level.WARN, "are failing").size() == 1, 30);
            ILoggingEvent first = lines(captured, Level.WARN, "are failing").get(0);
            assertThat(first.getFormattedMessage()).contains("fl-down", "rlg-no-such-host.invalid");
            assertThat(first.getKeyValuePairs()).anySatisfy(kv -> assertThat(kv.key).isEqualTo("requestId"));
            Await.until(() -> failedAttempts(http, gw) >= 20, 30); // it keeps retrying meanwhile ...
            assertThat(lines(captured, Level.WARN, "are failing")).hasSize(1); // ... without another WARN per call
            assertThat(lines(captured, Level.WARN, "more failures")).isEmpty(); // (a summary comes after 30 s)

            http.send(HttpMethod.PATCH, gw.managementPort(), "/admin/environments/fl-down", TestGateway.ADMIN,
                    new JsonObject().put("interconnectUrl", sim.url()));
            Await.until(() -> !lines(captured, Level.INFO, "succeed again").isEmpty(), 30);
            Await.until(() -> sim.stats("UP").getLong("devices") == 20, 30);
        } finally {
            lane.detachAppender(captured);
        }
    }

    private static List<ILoggingEvent> lines(ListAppender<ILoggingEvent> captured, Level level, String text) {
        synchronized (captured) {
            return captured.list.stream().filter(e -> e.getLevel() == level && e.getFormattedMessage().contains(text)).toList();
        }
    }

    private static long failedAttempts(Http http, TestGateway gw) {
        return dev.roverlogout.testing.TestPostgres.count(gw.databaseUrl(), "SELECT count(*) FROM job_attempt a JOIN "
                + "disassociation_job j ON j.id = a.job_id WHERE j.environment_id = 'fl-down' AND a.outcome = 'retry'");
    }
}
