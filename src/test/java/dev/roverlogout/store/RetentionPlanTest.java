package dev.roverlogout.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.Plans;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;

/**
 * The retention batches read their index in order and stop at the batch size: a plan that gathers every candidate
 * first (a bitmap) and sorts them makes each batch cost as much as all that is left, and a big cleanup quadratic.
 */
class RetentionPlanTest {
    @Test
    @DisplayName("with 100,000 expired jobs, the event and job batches of the cleaner scan device_event_received and "
            + "job_finished in order and stop at the batch size: no bitmap, no sort of all candidates")
    void batchesReadTheirIndexInOrder() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of());
             Connection c = TestPostgres.connect(gw.databaseUrl()); Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO disassociation_job (environment_id, device_id, state, checked_in_at, received_at,
                                                    next_attempt_at, finished_at)
                    SELECT 'plan', 'dev-' || (g % 40000), CASE WHEN g % 100 = 0 THEN 'failed' ELSE 'done' END,
                           now() - interval '40 days' - g * interval '1 second', now() - interval '40 days' - g * interval '1 second',
                           now(), now() - interval '40 days' - g * interval '1 second'
                      FROM generate_series(1, 100000) g
                    """);
            s.execute("""
                    INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, received_at, outcome)
                    SELECT 'plan', 'e-' || g, 'CHECK_IN', 'dev-' || (g % 40000), now() - g * interval '1 minute',
                           now() - g * interval '1 minute', 'skipped' FROM generate_series(1, 80000) g
                    """);
            s.execute("ANALYZE");
            s.execute("PREPARE jobs(text, timestamptz, timestamptz, timestamptz, int) AS " + RetentionStore.DELETE_JOBS);
            s.execute("PREPARE events(timestamptz, timestamptz, int) AS " + RetentionStore.DELETE_EVENTS);
            // as the cleaner's own connection runs them: prepared, planned for the values first, perhaps generic later
            for (String mode : new String[] {"force_custom_plan", "force_generic_plan"}) {
                s.execute("SET plan_cache_mode = " + mode);
                String jobs = Plans.explain(s, "EXPLAIN EXECUTE jobs('plan', '1970-01-01', now() - interval '30 days', now() - interval '90 days', 5000)");
                String events = Plans.explain(s, "EXPLAIN EXECUTE events('1970-01-01', now() - interval '30 days', 5000)");
                // the outer scans (aliases j and e); the per-row probes of a device's newest event may use what they like
                assertThat(jobs).as(mode).contains("Index Scan Backward using job_finished on disassociation_job j")
                        .doesNotContain("Bitmap Heap Scan on disassociation_job j").doesNotContain("Sort Key: j.finished_at");
                assertThat(events).as(mode).contains("Index Scan using device_event_received on device_event e")
                        .doesNotContain("Bitmap Heap Scan on device_event e ").doesNotContain("Sort Key: e.received_at");
            }
        }
    }
}
