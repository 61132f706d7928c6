package dev.roverlogout.ingest;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.TestPostgres.count;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;

/** The backlog bound and the queue gauges SREs watch. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BacklogTest {
    private TestGateway gw;
    private Http http;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_INGEST_MAXBACKLOG", "3", "RLG_INGEST_RETRYAFTER", "7s",
                "RLG_METRICS_QUEUESTATSINTERVAL", "1s"));
        http = new Http();
        Fixtures.environment(http, gw, "full", "READY");
    }

    @AfterAll
    void stop() {
        http.close();
        gw.close();
    }

    @Test
    @DisplayName("above ingest.maxBacklog queued jobs ingest answers 503 + Retry-After and stores nothing; gauges show the queue")
    void backlogBound() throws Exception {
        for (int i = 0; i < 4; i++) { // 3 is the bound; the 4th is accepted at the bound, the 5th is above it
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                    checkIn("bl-" + i, "full", "dev-bl-" + i, "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        }
        HttpResponse<Buffer> refused = http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                checkIn("bl-over", "full", "dev-bl-over", "2026-11-29T07:00:00Z"));
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.getHeader("Retry-After")).isEqualTo("7");
        assertThat(refused.bodyAsJsonObject().getString("reason")).isEqualTo("backlog");
        assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM device_event WHERE event_id = 'bl-over'")).isZero();

        String metrics = "";
        long deadline = System.nanoTime() + 10_000_000_000L;
        // a scrape shows all of an environment's gauges or none (GatewayMetrics registers them under its lock)
        while (!metrics.contains("rlg_queue_depth{environment=\"full\"} 4.0") && System.nanoTime() < deadline) {
            metrics = http.get(gw.managementPort(), "/metrics", null).bodyAsString();
        }
        assertThat(metrics).contains("rlg_queue_depth{environment=\"full\"} 4.0")
                .containsPattern("rlg_queue_oldest_age_seconds\\{environment=\"full\"} [0-9.]+")
                .contains("rlg_ingest_rejected_total{reason=\"backlog\"} 1.0")
                .contains("rlg_environment_status{environment=\"full\",status=\"READY\",tenant=\"default\"} 1.0")
                .contains("rlg_environment_status{environment=\"full\",status=\"PENDING\",tenant=\"default\"} 0.0")
                .contains("rlg_database_up 1.0")
                .contains("vertx_pool_");
    }
}
