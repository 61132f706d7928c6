package dev.roverlogout.store;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.checkOut;
import static dev.roverlogout.testing.TestPostgres.column;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;

/** The job queue as the lanes will use it: claim, record, rescue — against real PostgreSQL, jobs made by ingest. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JobStoreTest {
    private static final Duration LEASE = Duration.ofSeconds(30);
    private TestGateway gw;
    private Http http;
    private Vertx vertx;
    private JobStore jobs;
    private Pool pool;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of());
        http = new Http();
        vertx = Vertx.vertx();
        pool = Database.pool(vertx, gw.databaseUrl(), 4, 5000);
        jobs = new JobStore(pool);
    }

    @AfterAll
    void stop() {
        TestGateway.join(vertx.close());
        http.close();
        gw.close();
    }

    private void checkInDevices(String env, String... devices) {
        for (String d : devices) {
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST,
                    checkIn(env + "-" + d + "-" + System.nanoTime(), env, d, "2026-11-29T07:00:00Z")).statusCode()).isEqualTo(202);
        }
    }

    private String state(long id) {
        return (String) column(gw.databaseUrl(), "SELECT state FROM disassociation_job WHERE id = ?", id).get(0);
    }

    @Test
    @DisplayName("concurrent claimers get disjoint due jobs, each stamped sending with the claimer's lease")
    void claimIsDisjoint() {
        Fixtures.environment(http, gw, "js-claim", "READY");
        checkInDevices("js-claim", "a", "b", "c", "d", "e");
        List<JobStore.ClaimedJob> first = TestGateway.join(jobs.claim("js-claim", "replica-1", 1, 3, LEASE));
        List<JobStore.ClaimedJob> second = TestGateway.join(jobs.claim("js-claim", "replica-2", 1, 3, LEASE));
        assertThat(first).hasSize(3);
        assertThat(second).hasSize(2);
        Set<Long> ids = first.stream().map(JobStore.ClaimedJob::id).collect(Collectors.toSet());
        second.forEach(j -> assertThat(ids).doesNotContain(j.id()));
        assertThat(first.get(0).attempts()).isEqualTo(1);
        assertThat(column(gw.databaseUrl(), "SELECT DISTINCT lease_owner FROM disassociation_job WHERE environment_id = 'js-claim'"))
                .containsExactlyInAnyOrder("replica-1", "replica-2");
    }

    @Test
    @DisplayName("an outcome is recorded only by the lease holder with the current fence; a late writer changes nothing")
    void fencedWrites() {
        Fixtures.environment(http, gw, "js-fence", "READY");
        checkInDevices("js-fence", "a");
        JobStore.ClaimedJob job = TestGateway.join(jobs.claim("js-fence", "replica-1", 7, 10, LEASE)).get(0);
        assertThat(TestGateway.join(jobs.record(List.of(new JobStore.Outcome(job.id(), "done", 200, null, null)), "replica-1", 6)))
                .isEmpty();
        assertThat(state(job.id())).isEqualTo("sending");
        assertThat(TestGateway.join(jobs.record(List.of(new JobStore.Outcome(job.id(), "done", 200, null, null)), "replica-1", 7)))
                .containsExactly(new JobStore.Transition(job.id(), "done"));
    }

    @Test
    @DisplayName("a retry goes back to the queue, due at its next attempt time")
    void retryRequeues() {
        Fixtures.environment(http, gw, "js-retry", "READY");
        checkInDevices("js-retry", "a");
        JobStore.ClaimedJob job = TestGateway.join(jobs.claim("js-retry", "r", 1, 10, LEASE)).get(0);
        OffsetDateTime later = OffsetDateTime.now().plusMinutes(5);
        assertThat(TestGateway.join(jobs.record(List.of(new JobStore.Outcome(job.id(), "retry", 503, "503 busy", later)), "r", 1)))
                .containsExactly(new JobStore.Transition(job.id(), "queued"));
        assertThat(TestGateway.join(jobs.claim("js-retry", "r", 1, 10, LEASE))).isEmpty(); // not due yet
    }

    @Test
    @DisplayName("a check-out during the call fences the job: its retry is cancelled, the next user is never logged out")
    void fencedRetryIsCancelled() {
        Fixtures.environment(http, gw, "js-out", "READY");
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-out-1", "js-out", "dev", "2026-11-29T07:00:00Z"));
        JobStore.ClaimedJob job = TestGateway.join(jobs.claim("js-out", "r", 1, 10, LEASE)).get(0);
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkOut("js-out-2", "js-out", "dev", "2026-11-29T07:05:00Z"));
        assertThat(TestGateway.join(jobs.record(List.of(new JobStore.Outcome(job.id(), "retry", 503, "503 busy",
                OffsetDateTime.now())), "r", 1))).containsExactly(new JobStore.Transition(job.id(), "cancelled"));
    }

    @Test
    @DisplayName("a retry whose device got a newer queued job is merged into it: one call, not two")
    void retryMergesIntoNewerJob() {
        Fixtures.environment(http, gw, "js-merge", "READY");
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-merge-1", "js-merge", "dev", "2026-11-29T07:00:00Z"));
        JobStore.ClaimedJob job = TestGateway.join(jobs.claim("js-merge", "r", 1, 10, LEASE)).get(0);
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-merge-2", "js-merge", "dev", "2026-11-29T07:30:00Z"));
        assertThat(TestGateway.join(jobs.record(List.of(new JobStore.Outcome(job.id(), "retry", 503, "503 busy",
                OffsetDateTime.now())), "r", 1))).containsExactly(new JobStore.Transition(job.id(), "cancelled"));
        assertThat(column(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE environment_id = 'js-merge' AND state = 'queued'"))
                .containsExactly(1L);
    }

    @Test
    @DisplayName("a job whose lease expired in sending (its replica died) is rescued back to the queue")
    void rescue() throws Exception {
        Fixtures.environment(http, gw, "js-rescue", "READY");
        checkInDevices("js-rescue", "a");
        JobStore.ClaimedJob job = TestGateway.join(jobs.claim("js-rescue", "dead", 1, 10, Duration.ofMillis(1))).get(0);
        Thread.sleep(20);
        assertThat(TestGateway.join(jobs.rescue(100))).contains(new JobStore.Transition(job.id(), "queued"));
        assertThat(TestGateway.join(jobs.claim("js-rescue", "alive", 2, 10, LEASE))).extracting(JobStore.ClaimedJob::attempts)
                .containsExactly(2);
    }

    @Test
    @DisplayName("jobs of a PAUSED environment are not claimed, whatever a lane's cached status says; resume releases them")
    void pausedIsNotClaimed() {
        Fixtures.environment(http, gw, "js-pause", "PAUSED");
        checkInDevices("js-pause", "a");
        assertThat(TestGateway.join(jobs.claim("js-pause", "r", 1, 10, LEASE))).isEmpty();
        http.post(gw.managementPort(), "/admin/environments/js-pause/resume", TestGateway.ADMIN, null);
        assertThat(TestGateway.join(jobs.claim("js-pause", "r", 1, 10, LEASE))).hasSize(1);
    }

    @Test
    @DisplayName("claimed jobs given back unsent are queued again at once, the claim not counted as an attempt; "
            + "one whose device was checked out meanwhile is cancelled instead")
    void unclaim() {
        Fixtures.environment(http, gw, "js-unclaim", "READY");
        checkInDevices("js-unclaim", "a", "b");
        List<JobStore.ClaimedJob> claimed = TestGateway.join(jobs.claim("js-unclaim", "r", 3, 10, LEASE));
        JobStore.ClaimedJob b = claimed.stream().filter(j -> j.deviceId().equals("b")).findFirst().orElseThrow();
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkOut("js-unclaim-out", "js-unclaim", "b", "2026-11-29T07:05:00Z"));
        assertThat(TestGateway.join(jobs.unclaim(claimed.stream().map(JobStore.ClaimedJob::id).toList(), "other", 3))).isEmpty();
        assertThat(TestGateway.join(jobs.unclaim(claimed.stream().map(JobStore.ClaimedJob::id).toList(), "r", 3)))
                .extracting(JobStore.Transition::state).containsExactlyInAnyOrder("queued", "cancelled");
        assertThat(state(b.id())).isEqualTo("cancelled");
        assertThat(TestGateway.join(jobs.claim("js-unclaim", "r", 3, 10, LEASE))).extracting(JobStore.ClaimedJob::attempts)
                .containsExactly(1);
    }

    @Test
    @DisplayName("every call made is recorded as an attempt with its status and request id; a job that was never sent has none")
    void attemptsRecorded() {
        Fixtures.environment(http, gw, "js-attempt", "READY");
        checkInDevices("js-attempt", "a", "b");
        List<JobStore.ClaimedJob> claimed = TestGateway.join(jobs.claim("js-attempt", "r", 1, 10, LEASE));
        OffsetDateTime now = OffsetDateTime.now();
        TestGateway.join(jobs.record(List.of(
                new JobStore.Outcome(claimed.get(0).id(), "retry", 503, "503 busy", now,
                        new JobStore.Call(1, now.minusNanos(5_000_000), now, "req-1")),
                new JobStore.Outcome(claimed.get(1).id(), "expired", null, "older than dispatch.maxAge", null)), "r", 1));
        assertThat(column(gw.databaseUrl(), "SELECT attempt || ' ' || http_status || ' ' || outcome || ' ' || request_id || ' ' || replica "
                + "FROM job_attempt WHERE job_id = ?", claimed.get(0).id())).containsExactly("1 503 retry req-1 r");
        assertThat(column(gw.databaseUrl(), "SELECT count(*) FROM job_attempt WHERE job_id = ?", claimed.get(1).id()))
                .containsExactly(0L);
    }

    @Test
    @DisplayName("two jobs of one device in flight (a second check-in during the call) both retried in one batch: "
            + "the newer goes back to the queue, the older merges into it; no constraint error stops the lane")
    void twoRetriesOfOneDeviceInOneBatch() {
        Fixtures.environment(http, gw, "js-two", "READY");
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-two-1", "js-two", "dev", "2026-11-29T07:00:00Z"));
        JobStore.ClaimedJob a = TestGateway.join(jobs.claim("js-two", "r", 1, 10, LEASE)).get(0);
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-two-2", "js-two", "dev", "2026-11-29T07:00:05Z"));
        JobStore.ClaimedJob b = TestGateway.join(jobs.claim("js-two", "r", 1, 10, LEASE)).get(0);
        OffsetDateTime now = OffsetDateTime.now();
        assertThat(TestGateway.join(jobs.record(List.of(new JobStore.Outcome(a.id(), "retry", 503, "x", now),
                new JobStore.Outcome(b.id(), "retry", 503, "x", now)), "r", 1)))
                .containsExactlyInAnyOrder(new JobStore.Transition(a.id(), "cancelled"), new JobStore.Transition(b.id(), "queued"));
    }

    @Test
    @DisplayName("a crash with two jobs of one device in flight: the rescue requeues the newer and cancels the older")
    void rescueOfTwoJobsOfOneDevice() throws Exception {
        Fixtures.environment(http, gw, "js-two-rescue", "READY");
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-tr-1", "js-two-rescue", "dev", "2026-11-29T07:00:00Z"));
        JobStore.ClaimedJob a = TestGateway.join(jobs.claim("js-two-rescue", "dead", 1, 10, Duration.ofMillis(1))).get(0);
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-tr-2", "js-two-rescue", "dev", "2026-11-29T07:00:05Z"));
        JobStore.ClaimedJob b = TestGateway.join(jobs.claim("js-two-rescue", "dead", 1, 10, Duration.ofMillis(1))).get(0);
        Thread.sleep(20);
        assertThat(TestGateway.join(jobs.rescue(1000))).contains(new JobStore.Transition(a.id(), "cancelled"),
                new JobStore.Transition(b.id(), "queued"));
    }

    @Test
    @DisplayName("a replay of a dead letter whose device has a queued job (even of an older check-in) is skipped, not a 500")
    void replayWithQueuedJobOfTheDevice() {
        Fixtures.environment(http, gw, "js-replay", "READY");
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-rp-1", "js-replay", "dev", "2026-11-29T07:00:05Z"));
        JobStore.ClaimedJob a = TestGateway.join(jobs.claim("js-replay", "r", 1, 10, LEASE)).get(0);
        TestGateway.join(jobs.record(List.of(new JobStore.Outcome(a.id(), "failed", 400, "bad", null)), "r", 1));
        // a locker's delayed, older check-in of the same device arrives and is queued
        http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("js-rp-0", "js-replay", "dev", "2026-11-29T07:00:00Z"));
        DeadLetterReplay.Replay r = TestGateway.join(new DeadLetterReplay(pool).replay(List.of(a.id()), null));
        assertThat(r.replayed()).isEmpty();
        assertThat(r.skipped()).extracting(o -> o.getString("reason")).containsExactly("superseded");
        assertThat(state(a.id())).isEqualTo("failed");
    }
}
