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
 * The one-statement ingest transaction ({@code rlg_write_events}, migrations V9 and V10) on a database the previous
 * version made and filled: queued and in-flight jobs survive the upgrade and the new write path coalesces into,
 * cancels and fences them as before; rounds apply one device's events in arrival order, also a thousand of them;
 * a concurrent writer holding a device's later check-out is waited for; the lanes are woken; unknown environments
 * write nothing.
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
            s.execute("SELECT setval(pg_get_serial_sequence('disassociation_job', 'id'), 104)");
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
            assertThat(notifications(listener, s)).containsExactly("up:103");
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

    private static List<String> notifications(Connection listener, Statement s) throws Exception {
        List<String> payloads = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            s.execute("SELECT 1");
            PGNotification[] n = listener.unwrap(PGConnection.class).getNotifications(50);
            if (n != null) {
                for (PGNotification x : n) {
                    payloads.add(x.getParameter());
                }
            }
        }
        return payloads;
    }

    @Test
    @DisplayName("new jobs wake the environment's lane once per group; a group that only coalesces wakes nobody")
    void wakesTheLane() throws Exception {
        try (Connection listener = TestPostgres.connect(url); Statement s = listener.createStatement()) {
            s.execute("LISTEN " + EventStore.JOBS_QUEUED_CHANNEL);
            write(in("w-1", "wake-1", T), in("w-2", "wake-2", T));
            assertThat(notifications(listener, s)).containsExactly("up");
            write(in("w-3", "wake-1", T.plusMinutes(1)));
            assertThat(notifications(listener, s)).as("coalesced into the queued job").isEmpty();
        }
    }

    @Test
    @DisplayName("a group of 1,000 events of one device (1,000 rounds) plus others: each applied in arrival order")
    void thousandRounds() throws Exception {
        List<CheckInEvent> events = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            OffsetDateTime at = T.plusSeconds(i);
            events.add(i % 2 == 0 ? in("m-" + i, "many", at) : out("m-" + i, "many", at));
            if (i % 100 == 0) {
                events.add(in("o-" + i, "other-" + i, T));
            }
        }
        Map<String, EventStore.Stored> m = await(store.write(events));
        assertThat(m).hasSize(1010);
        for (int i = 0; i < 1000; i++) {
            assertThat(stored(m, "m-" + i).outcome()).as("event %d", i).isEqualTo(i % 2 == 0 ? "queued" : "cancelled_job");
            if (i % 2 == 1) {
                assertThat(stored(m, "m-" + i).jobId()).isEqualTo(stored(m, "m-" + (i - 1)).jobId());
            }
        }
        assertThat(TestPostgres.count(url, "SELECT count(*) FROM disassociation_job WHERE device_id = 'many' AND state = 'cancelled'"))
                .isEqualTo(500);
        assertThat(TestPostgres.count(url, "SELECT count(*) FROM disassociation_job WHERE device_id LIKE 'other-%' AND state = 'queued'"))
                .isEqualTo(10);
    }

    @Test
    @DisplayName("a check-in waits for a concurrent group holding the device with a later check-out, then sees it: "
            + "superseded, no job")
    void waitsForAConcurrentCheckOut() throws Exception {
        try (Connection a = TestPostgres.connect(url); Statement s = a.createStatement()) {
            a.setAutoCommit(false);
            s.execute("""
                    SELECT * FROM rlg_write_events(ARRAY['up'], ARRAY['c-out'], ARRAY['CHECK_OUT'], ARRAY['racing-1'],
                        ARRAY['2026-11-30T07:05:00Z'::timestamptz], ARRAY['nurse-3'], ARRAY['locker-1'], ARRAY['req-c-out'])
                    """);
            Future<Map<String, EventStore.Stored>> checkIn = store.write(List.of(in("c-in", "racing-1", T)));
            Thread.sleep(300); // time for the check-in to reach the device's lock
            assertThat(checkIn.isComplete()).as("waits for the device lock").isFalse();
            a.commit();
            assertThat(stored(await(checkIn), "c-in")).isEqualTo(new EventStore.Stored("superseded", null, false));
        }
        assertThat(TestPostgres.count(url, "SELECT count(*) FROM disassociation_job WHERE device_id = 'racing-1'")).isZero();
    }

    @Test
    @DisplayName("the function leaves enable_nestloop as it found it, also inside a caller's transaction")
    void restoresItsSetting() throws Exception {
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("""
                    SELECT * FROM rlg_write_events(ARRAY['up', 'up'], ARRAY['n-1', 'n-2'], ARRAY['CHECK_IN', 'CHECK_OUT'],
                        ARRAY['nest-1', 'nest-1'], ARRAY['2026-11-30T07:00:00Z', '2026-11-30T07:01:00Z']::timestamptz[],
                        ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[])
                    """);
            try (var rs = s.executeQuery("SHOW enable_nestloop")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("on");
            }
            c.rollback();
        }
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
