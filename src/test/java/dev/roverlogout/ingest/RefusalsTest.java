package dev.roverlogout.ingest;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.roverlogout.http.Problem;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** How refused check-in requests are logged and charged. */
class RefusalsTest {
    @Test
    @DisplayName("refusal log lines are sampled per reason (20 per 10 s), the next line says how many were not "
            + "logged, and client text cannot forge a line")
    void sampledAndClean() {
        Logger logger = (Logger) LoggerFactory.getLogger(CheckInRoutes.class);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        logger.addAppender(captured);
        try {
            RefusalLog refusals = new RefusalLog();
            Problem unauthorized = new Problem(401, "unauthorized", "Unauthorized", "no bearer token");
            long t0 = 1_000_000_000_000L;
            for (int i = 0; i < 25; i++) {
                refusals.refused("r-" + i, "unauthorized", unauthorized, t0 + i);
            }
            refusals.refused("other-1", "invalid", Problem.badRequest("bad\nINFO forged line"), t0 + 30);
            assertThat(captured.list.stream().filter(e -> e.getFormattedMessage().contains("401"))).hasSize(RefusalLog.PER_WINDOW);
            assertThat(captured.list.stream().filter(e -> e.getFormattedMessage().contains("400"))).hasSize(1);
            refusals.refused("r-late", "unauthorized", unauthorized, t0 + 10_000_000_001L);
            ILoggingEvent late = captured.list.get(captured.list.size() - 1);
            assertThat(late.getFormattedMessage()).contains("5 more 'unauthorized' refusals not logged");
            assertThat(captured.list.stream().map(ILoggingEvent::getFormattedMessage)).noneMatch(m -> m.contains("\n"));
            assertThat(RefusalLog.clean("x".repeat(5000))).hasSizeLessThan(210);
        } finally {
            logger.detachAppender(captured);
        }
    }

    @Test
    @DisplayName("a request refused after the rate limit charged it (422, 503) gets its events back: lockers' "
            + "retries during an outage do not use up the limit")
    void refusedRequestsAreRefunded() {
        // a limit of 1 event/s: the bucket holds one full batch (1,000 events) and refills 1 per second
        try (TestGateway gw = TestGateway.start(Map.of("RLG_INGEST_RATELIMITPERSECOND", "1")); Http http = new Http()) {
            Fixtures.environment(http, gw, "refund", "READY");
            JsonArray unknown = new JsonArray();
            JsonArray known = new JsonArray();
            for (int i = 0; i < 1000; i++) {
                unknown.add(checkIn("u-" + i, "no-such-env", "dev-" + i, "2026-11-29T07:00:00Z"));
                known.add(checkIn("k-" + i, "refund", "dev-" + i, "2026-11-29T07:00:00Z"));
            }
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", unknown))
                    .statusCode()).isEqualTo(422);
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", known))
                    .statusCode()).as("the 422's events were given back").isEqualTo(202);
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                    checkIn("k-more", "refund", "dev-more", "2026-11-29T07:00:00Z")).statusCode())
                    .as("and the limit still holds").isEqualTo(429);
        }
    }
}
