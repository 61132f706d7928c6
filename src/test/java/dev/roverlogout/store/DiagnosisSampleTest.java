package dev.roverlogout.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;

/**
 * The diagnosis reads bounded samples, the newest first: its cost stays the same at shift change (10,000
 * check-ins/s fill the 15-minute window with millions of rows), and what it says follows the latest calls.
 */
class DiagnosisSampleTest {
    @Test
    @DisplayName("of 6,000 calls in the window only the newest 1,000 per environment count, and of 25,000 check-ins "
            + "the newest 20,000: an MDM profile that broke minutes ago shows, older traffic does not dilute it")
    void newestSamplesOnly() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of());
             Connection c = TestPostgres.connect(gw.databaseUrl()); Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO environment (id, display_name, interconnect_url, client_id, rate_limit_per_second, burst,
                                             max_concurrency, disassociate_path)
                    VALUES ('sample', 'Sample', 'https://epic.example.org', 'c', 10, 10, 1, '/x')
                    """);
            // 5,000 answered calls a few minutes ago, then 1,000 'not associated' since the profile broke
            s.execute("""
                    INSERT INTO disassociation_job (environment_id, device_id, state, checked_in_at, received_at,
                                                    next_attempt_at, finished_at)
                    SELECT 'sample', 'dev-' || g, CASE WHEN g <= 5000 THEN 'done' ELSE 'not_associated' END,
                           now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '10 minutes',
                           now() - interval '10 minutes' + g * interval '50 milliseconds'
                      FROM generate_series(1, 6000) g
                    """);
            // 5,000 serial-number devices first, then 20,000 devices with UUIDs
            s.execute("""
                    INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, received_at, outcome)
                    SELECT 'sample', 'e-' || g, 'CHECK_IN',
                           CASE WHEN g <= 5000 THEN 'C02XK' || g ELSE md5(g::text)::uuid::text END,
                           now(), now() - interval '10 minutes' + g * interval '10 milliseconds', 'queued'
                      FROM generate_series(1, 25000) g
                    """);
            s.execute("ANALYZE");
            Vertx vertx = Vertx.vertx();
            Pool pool = Database.pool(vertx, gw.databaseUrl(), 1, 5000);
            try {
                DiagnosisStore.Window w = new DiagnosisStore(pool).read(Duration.ofMinutes(15))
                        .toCompletionStage().toCompletableFuture().get().get("sample");
                assertThat(w.answered()).isEqualTo(DiagnosisStore.CALLS_SAMPLE);
                assertThat(w.notAssociated()).as("the newest calls, all after the profile broke").isEqualTo(1_000);
                assertThat(w.uuidDevices()).isEqualTo(DiagnosisStore.CHECK_IN_SAMPLE);
                assertThat(w.otherDevices()).as("the serial numbers are older than the newest 20,000").isZero();
            } finally {
                pool.close();
                vertx.close();
            }
        }
    }
}
