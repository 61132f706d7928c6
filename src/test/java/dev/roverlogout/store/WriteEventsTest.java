package dev.roverlogout.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;

/**
 * The one-statement ingest transaction ({@code rlg_write_events}, migration V9) on a database the previous version
 * made and filled: queued and in-flight jobs survive the upgrade and the new write path coalesces into, cancels and
 * fences them as before; rounds apply one device's events in arrival order; unknown environments write nothing.
 */
class WriteEventsTest {
    private static final OffsetDateTime T = OffsetDateTime.parse("2026-11-30T07:00:00Z");

    private String url;
    private Vertx vertx;
    private Pool pool;
    private EventStore store;

    @BeforeEach
    void databaseOfThePreviousVersion() throws Exception {
        url = TestPostgres.newDatabase();
        var o = io.vertx.pgclient.PgConnectOptions.fromUri(url);
        Flyway.configure().dataSource("jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/" + o.getDatabase(), "postgres", "")
                .locations("classpath:db/migration").target("8").load().migrate();
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement()) {
            // what the previous version's ingest and lanes left: a queued job, a job being sent, and a queued job
            // plus one being sent for a third device (checked in again while its first call was under way)
            s.execute("""
                    INSERT INTO environment (id, display_name, interconnect_url, client_id, rate_limit_per_second, burst,
                                             max_concurrency, disassociate_path, status)
                    VALUES ('up', 'Upgraded', 'https://epic.example.org', 'c', 10, 10, 1, '/x', 'READY')
                    """);
            s.execute("INSERT INTO device (environment_id, device_id) VALUES ('up', 'queued-1'), ('up', 'sending-1'), ('up', 'both-1')");
            s.execute("""
                    INSERT INTO disassociation_job (id, environment_id, device_id, state, checked_in_at, received_at,
                                                    next_attempt_at, lease_owner, lease_expires_at)
                    VALUES (101, 'up', 'queued-1', 'queued', '2026-11-30T06:00:00Z', now(), now(), NULL, NULL),
                           (102, 'up', 'sending-1', 'sending', '2026-11-30T06:00:00Z', now(), now(), 'replica-a', now() + interval '30 seconds'),
                           (103, 'up', 'both-1', 'sending', '2026-11-30T05:00:00Z', now(), now(), 'replica-a', now() + interval '30 seconds'),
                           (104, 'up', 'both-1', 'queued', '2026-11-30T06:00:00Z', now(), now(), NULL, NULL)
                    """);
            s.execute("""
                    INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, outcome, job_id)
                    VALUES ('up', 'old-1', 'CHECK_IN', 'queued-1', '2026-11-30T06:00:00Z', 'queued', 101),
                           ('up', 'old-2', 'CHECK_IN', 'sending-1', '2026-11-30T06:00:00Z', 'queued', 102),
                           ('up', 'old-3', 'CHECK_IN', 'both-1', '2026-11-30T05:00:00Z', 'queued', 103),
                           ('up', 'old-4', 'CHECK_IN', 'both-1', '2026-11-30T06:00:00Z', 'queued', 104)
                    """);
        }
        Database.migrate(url);
        vertx = Vertx.vertx();
        pool = Database.pool(vertx, url, 2, 5000);
        store = new EventStore(pool);
    }

    @AfterEach
    void close() {
        pool.close();
        vertx.close();
    }

    private static CheckInEvent in(String id, String device, OffsetDateTime at) {
        return new CheckInEvent(id, CheckInEvent.Type.CHECK_IN, "up", device, at, null, "locker-1", "req-" + id);
    }

    private static CheckInEvent out(String id, String device, OffsetDateTime at) {
        return new CheckInEvent(id, CheckInEvent.Type.CHECK_OUT, "up", device, at, "nurse-2", "locker-1", "req-" + id);
    }

    private Map<String, EventStore.Stored> write(CheckInEvent... events) throws Exception {
        return await(store.write(List.of(events)));
    }

    private static <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get();
    }

    private static EventStore.Stored stored(Map<String, EventStore.Stored> m, String eventId) {
        return m.get(EventStore.key("up", eventId));
    }

    @Test
    @DisplayName("after the upgrade, no job is lost; a check-in coalesces into the old queued job, a re-sent old "
            + "eventId is a duplicate, and a check-out cancels the old queued job and fences the one being sent")
    void upgradesAPopulatedDatabase() throws Exception {
        assertThat(TestPostgres.count(url, "SELECT count(*) FROM disassociation_job WHERE state IN ('queued', 'sending')")).isEqualTo(4);
        assertThat(TestPostgres.count(url, "SELECT coalesce((SELECT queued FROM queue_depth WHERE environment_id = 'up'), 0)")
                + TestPostgres.count(url, "SELECT coalesce(sum(delta), 0) FROM queue_depth_delta WHERE environment_id = 'up'"))
                .isEqualTo(2);

        Map<String, EventStore.Stored> first = write(in("new-1", "queued-1", T), in("old-1", "queued-1", T.minusHours(1)),
                out("new-2", "sending-1", T), in("new-3", "fresh-1", T));
        assertThat(stored(first, "new-1")).isEqualTo(new EventStore.Stored("coalesced", 101L, false));
        assertThat(first).as("old-1 was stored by the previous version: a duplicate").doesNotContainKey(EventStore.key("up", "old-1"));
        assertThat(stored(first, "new-2")).isEqualTo(new EventStore.Stored("cancel_race", 102L, true));
        assertThat(stored(first, "new-3").outcome()).isEqualTo("queued");
        assertThat(TestPostgres.column(url, "SELECT checked_in_at = '2026-11-30T07:00:00Z' FROM disassociation_job WHERE id = 101"))
                .containsExactly(true);
        assertThat(TestPostgres.column(url, "SELECT fenced_at = '2026-11-30T07:00:00Z' FROM disassociation_job WHERE id = 102"))
                .containsExactly(true);
        assertThat(TestPostgres.column(url, "SELECT outcome || ':' || job_id FROM device_event WHERE event_id = 'new-1'"))
                .containsExactly("coalesced:101");

        // the lane holding job 103 is told about the fence (not the queued job 104, which is simply cancelled)
        try (Connection listener = TestPostgres.connect(url); Statement s = listener.createStatement()) {
            s.execute("LISTEN " + EventStore.JOBS_FENCED_CHANNEL);
            Map<String, EventStore.Stored> second = write(out("new-4", "both-1", T));
            assertThat(stored(second, "new-4")).isEqualTo(new EventStore.Stored("cancelled_job", 104L, true));
            List<String> payloads = new ArrayList<>();
            for (int i = 0; i < 50 && payloads.isEmpty(); i++) {
                s.execute("SELECT 1");
                PGNotification[] n = listener.unwrap(PGConnection.class).getNotifications(100);
                if (n != null) {
                    for (PGNotification x : n) {
                        payloads.add(x.getParameter());
                    }
                }
            }
            assertThat(payloads).containsExactly("up:103");
        }
        assertThat(TestPostgres.column(url, "SELECT state FROM disassociation_job WHERE id = 104")).containsExactly("cancelled");
        assertThat(TestPostgres.count(url, "SELECT count(*) FROM disassociation_job WHERE state IN ('queued', 'sending')"))
                .as("101 and fresh-1's job queued, 102 and 103 sending").isEqualTo(4);
    }

    @Test
    @DisplayName("one group holding check-in, check-out, check-in of one device applies them in arrival order: "
            + "queued, cancelled, queued again")
    void roundsKeepArrivalOrder() throws Exception {
        Map<String, EventStore.Stored> m = write(in("r-1", "round-1", T), out("r-2", "round-1", T.plusMinutes(1)),
                in("r-3", "round-1", T.plusMinutes(2)), in("r-4", "round-2", T));
        assertThat(stored(m, "r-1").outcome()).isEqualTo("queued");
        assertThat(stored(m, "r-2")).isEqualTo(new EventStore.Stored("cancelled_job", stored(m, "r-1").jobId(), false));
        assertThat(stored(m, "r-3").outcome()).isEqualTo("queued");
        assertThat(stored(m, "r-3").jobId()).isNotEqualTo(stored(m, "r-1").jobId());
        assertThat(stored(m, "r-4").outcome()).isEqualTo("queued");
        assertThat(TestPostgres.column(url, "SELECT state FROM disassociation_job WHERE device_id = 'round-1' ORDER BY id"))
                .containsExactly("cancelled", "queued");
    }

    @Test
    @DisplayName("events of an environment that no longer exists fail the whole group with its id; nothing is written")
    void unknownEnvironment() throws Exception {
        CheckInEvent gone = new CheckInEvent("g-1", CheckInEvent.Type.CHECK_IN, "gone", "dev-g", T, null, null, null);
        assertThatThrownBy(() -> await(store.write(List.of(in("g-0", "dev-h", T), gone))))
                .isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(EventStore.MissingEnvironments.class, e -> assertThat(e.ids()).containsExactly("gone"));
        assertThat(TestPostgres.count(url, "SELECT count(*) FROM device_event WHERE event_id IN ('g-0', 'g-1')")).isZero();
        assertThat(TestPostgres.count(url, "SELECT count(*) FROM device WHERE device_id IN ('dev-g', 'dev-h')")).isZero();
    }
}
