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
 * The lanes' claim keeps its plan whatever the statistics see: a table full of finished jobs and hardly any queued
 * ones (months of history, or a table just cleaned): job_claim in its own order, no sort of the environment's queue;
 * a large backlog (an environment paused during an outage): the claimed jobs updated by primary key, never a join
 * that reads the whole table for the few jobs of one claim.
 */
class ClaimPlanTest {
    @Test
    @DisplayName("with statistics of 50,000 finished jobs and 3 queued, the claim's generic plan reads job_claim and sorts nothing")
    void claimStaysOnItsIndex() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of());
             Connection c = TestPostgres.connect(gw.databaseUrl()); Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO disassociation_job (environment_id, device_id, state, checked_in_at, received_at,
                                                    next_attempt_at, finished_at)
                    SELECT 'plan', 'old-' || g, 'done', now(), now(), now(), now() FROM generate_series(1, 50000) g
                    """);
            s.execute("""
                    INSERT INTO disassociation_job (environment_id, device_id, checked_in_at, received_at, next_attempt_at)
                    SELECT 'plan', 'new-' || g, now(), now(), now() FROM generate_series(1, 3) g
                    """);
            s.execute("ANALYZE disassociation_job");
            s.execute("SET plan_cache_mode = force_generic_plan"); // as the gateway's pool runs every statement
            s.execute("SET enable_seqscan = off");
            s.execute("PREPARE claim(text, int, text, bigint, bigint) AS " + JobStore.CLAIM);
            String plan = Plans.explain(s, "EXPLAIN EXECUTE claim('plan', 64, 'r', 1, 10000)");
            assertThat(plan).contains("Index Scan using job_claim on disassociation_job").doesNotContain("Sort");
        }
    }

    @Test
    @DisplayName("with statistics of a 20,000-job backlog, the claim's generic plan updates the claimed jobs by key and reads no other job")
    void claimReadsOnlyItsJobsWhenMuchIsQueued() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of());
             Connection c = TestPostgres.connect(gw.databaseUrl()); Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO disassociation_job (environment_id, device_id, checked_in_at, received_at, next_attempt_at)
                    SELECT 'paused', 'd-' || g, now(), now(), now() FROM generate_series(1, 20000) g
                    """);
            s.execute("""
                    INSERT INTO disassociation_job (environment_id, device_id, checked_in_at, received_at, next_attempt_at)
                    SELECT 'plan', 'new-' || g, now(), now(), now() FROM generate_series(1, 3) g
                    """);
            s.execute("ANALYZE disassociation_job");
            s.execute("SET plan_cache_mode = force_generic_plan");
            s.execute("SET enable_seqscan = off");
            s.execute("PREPARE claim(text, int, text, bigint, bigint) AS " + JobStore.CLAIM);
            String plan = Plans.explain(s, "EXPLAIN EXECUTE claim('plan', 64, 'r', 1, 10000)");
            // the generic plan cannot know LIMIT $2 and guesses a tenth of the queue: joined to the table, that chose a
            // merge join over the whole primary key (every claim ~0.4 s at 900,000 jobs; the drain fell to ~300/s)
            assertThat(plan).contains("Index Scan using job_claim on disassociation_job")
                    .containsPattern("Index Scan using disassociation_job_pkey on disassociation_job j +\\([^)]*\\)\\s+Index Cond: \\(id = ANY")
                    .doesNotContain("Join").doesNotContain("Sort");
        }
    }
}
