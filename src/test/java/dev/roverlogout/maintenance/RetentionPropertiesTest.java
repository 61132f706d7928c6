package dev.roverlogout.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Retention as a property, against the real cleaner on a real gateway and database: random devices with random
 * histories (check-ins and check-outs received up to 50 days ago, jobs in every state finished up to 100 days ago,
 * attempts, status changes up to 800 days ago). After one run, exactly the rows a model of the rule says may go are
 * gone: nothing queued, leased or retrying; nothing younger than its retention; every device keeps its newest event,
 * its newest check-out and its newest event's job. And what lockers rely on still holds through the API: a late
 * check-in older than a kept check-out is superseded, an eventId re-sent inside the window is a duplicate, and the
 * device's history shows its last state.
 */
class RetentionPropertiesTest {
    static final long EVENTS_H = 20 * 24;
    static final long FINISHED_H = 30 * 24;
    static final long DEAD_H = 60 * 24;
    static final long AUDIT_H = 400 * 24;
    private static final String[] ENVS = {"ret-a", "ret-b"};
    private static final String[] FINAL = {"done", "not_associated", "cancelled", "expired", "failed"};

    /** The try's "now": every row's time is this minus its age. */
    private static final ThreadLocal<OffsetDateTime> BASE = new ThreadLocal<>();
    private static TestGateway gw;
    private static Http http;

    @BeforeContainer
    static void start() {
        gw = TestGateway.start(Map.of("RLG_RETENTION_DEVICEEVENTS", "20d", "RLG_RETENTION_FINISHEDJOBS", "30d",
                "RLG_RETENTION_DEADLETTERS", "60d", "RLG_RETENTION_AUDIT", "400d",
                "RLG_RETENTION_INTERVAL", "1h", // runs only when the property asks
                "RLG_RETENTION_BATCHSIZE", "7")); // many batches: cursors and batch ends are exercised
        http = new Http();
        for (String env : ENVS) {
            Fixtures.environment(http, gw, env, "READY");
        }
    }

    @AfterContainer
    static void stop() {
        http.close();
        gw.close();
    }

    record Job(String env, String device, String state, long ageHours, boolean retrying, long[] id) {
        boolean open() {
            return state.equals("queued") || state.equals("sending");
        }
    }

    record Event(String env, String device, String eventId, String type, long receivedAgeHours, long occurredMillisAgo,
                 Job job) {
    }

    record StatusChange(String env, long ageHours, long[] id) {
    }

    @Property(tries = 25)
    @Label("a retention run deletes exactly what is old and not needed; fences, duplicates and histories hold")
    void retentionKeepsWhatIsNeeded(@ForAll long seed) throws Exception {
        Random r = new Random(seed);
        List<Job> jobs = new ArrayList<>();
        List<Event> events = new ArrayList<>();
        List<StatusChange> changes = new ArrayList<>();
        generate(r, seed, jobs, events, changes);
        try (Connection c = TestPostgres.connect(gw.databaseUrl())) {
            BASE.set(OffsetDateTime.now(ZoneOffset.UTC).withNano(0));
            insert(c, BASE.get(), jobs, events, changes);
            TestGateway.join(gw.gateway().retention().runNow());
            assertThat(strings(c, "SELECT outcome FROM retention_run ORDER BY id DESC LIMIT 1")).containsExactly("completed");
            assertThat(strings(c, "SELECT environment_id || '/' || event_id FROM device_event"))
                    .containsExactlyInAnyOrderElementsOf(keptEvents(events).stream().map(e -> e.env() + "/" + e.eventId()).toList());
            Set<Long> keptJobs = keptJobs(jobs, events);
            assertThat(longs(c, "SELECT id FROM disassociation_job")).containsExactlyInAnyOrderElementsOf(keptJobs);
            assertThat(new HashSet<>(longs(c, "SELECT job_id FROM job_attempt"))).isEqualTo(keptJobs);
            assertThat(longs(c, "SELECT id FROM environment_status_change")).containsExactlyInAnyOrderElementsOf(keptChanges(changes));
        }
        for (Event newest : newestPerDevice(events, null)) {
            lastStateShown(newest);
        }
        for (Event checkOut : newestPerDevice(events, "CHECK_OUT")) {
            lateCheckInSuperseded(checkOut, seed);
        }
        events.stream().filter(e -> e.receivedAgeHours() < EVENTS_H).limit(3).forEach(RetentionPropertiesTest::stillDuplicate);
    }

    private static void generate(Random r, long seed, List<Job> jobs, List<Event> events, List<StatusChange> changes) {
        int devices = 1 + r.nextInt(6);
        for (int d = 0; d < devices; d++) {
            String env = ENVS[r.nextInt(ENVS.length)];
            String device = "dev-" + d;
            List<Job> mine = new ArrayList<>();
            boolean queued = false;
            boolean sending = false;
            for (int j = r.nextInt(5); j > 0; j--) {
                int pick = r.nextInt(8);
                String state = pick == 0 && !queued ? "queued" : pick == 1 && !sending ? "sending" : FINAL[r.nextInt(FINAL.length)];
                queued |= state.equals("queued");
                sending |= state.equals("sending");
                mine.add(new Job(env, device, state, 1 + r.nextInt(24 * 100), r.nextBoolean(), new long[1]));
            }
            jobs.addAll(mine);
            for (int e = 1 + r.nextInt(6); e > 0; e--) {
                String type = r.nextInt(3) == 0 ? "CHECK_OUT" : "CHECK_IN";
                long age = 1 + r.nextInt(24 * 50);
                // occurredAt: up to 10 minutes before receipt (lockers' clocks and queues), never two alike per device
                long occurred = age * 3_600_000L + r.nextInt(60_000) * 10L + e;
                Job job = !mine.isEmpty() && r.nextInt(10) < 6 ? mine.get(r.nextInt(mine.size())) : null;
                events.add(new Event(env, device, "ev-" + Long.toHexString(seed) + "-" + d + "-" + e, type, age, occurred, job));
            }
        }
        for (int s = r.nextInt(6); s > 0; s--) {
            changes.add(new StatusChange(ENVS[r.nextInt(ENVS.length)], 1 + r.nextInt(24 * 800), new long[1]));
        }
    }

    /** Every time is {@code base} minus an age, so that the model's order is the database's order. */
    private static void insert(Connection c, OffsetDateTime base, List<Job> jobs, List<Event> events,
                               List<StatusChange> changes) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("TRUNCATE device_event, disassociation_job, job_attempt, device, environment_status_change, retention_run");
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO disassociation_job (environment_id, device_id, state, checked_in_at, received_at, attempts,
                                                next_attempt_at, lease_owner, lease_expires_at, lease_fence, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING id""")) {
            for (Job j : jobs) {
                boolean final_ = !j.open();
                ps.setString(1, j.env());
                ps.setString(2, j.device());
                ps.setString(3, j.state());
                OffsetDateTime finished = base.minusHours(j.ageHours());
                ps.setObject(4, finished.minusMinutes(1));
                ps.setObject(5, finished.minusMinutes(1));
                ps.setInt(6, j.retrying() ? 3 : 1);
                ps.setObject(7, j.state().equals("queued") && j.retrying() ? base.plusHours(1) : base); // a retry waits
                boolean sending = j.state().equals("sending");
                ps.setString(8, sending ? "ghost-replica" : null);
                ps.setObject(9, sending ? base.plusHours(1) : null);
                ps.setObject(10, sending ? 1L : null);
                ps.setObject(11, final_ ? finished : null);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    j.id()[0] = rs.getLong(1);
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO job_attempt (job_id, attempt, replica, started_at, finished_at, outcome)
                VALUES (?, 1, 'r', ?, ?, 'retry')""")) {
            for (Job j : jobs) {
                ps.setLong(1, j.id()[0]);
                ps.setObject(2, base.minusHours(j.ageHours()));
                ps.setObject(3, base.minusHours(j.ageHours()));
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement device = c.prepareStatement("INSERT INTO device (environment_id, device_id) VALUES (?, ?) ON CONFLICT DO NOTHING");
             PreparedStatement ps = c.prepareStatement("""
                INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, received_at, outcome, job_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)""")) {
            for (Event e : events) {
                device.setString(1, e.env());
                device.setString(2, e.device());
                device.executeUpdate();
                ps.setString(1, e.env());
                ps.setString(2, e.eventId());
                ps.setString(3, e.type());
                ps.setString(4, e.device());
                ps.setObject(5, base.minusNanos(e.occurredMillisAgo() * 1_000_000L));
                ps.setObject(6, base.minusHours(e.receivedAgeHours()));
                ps.setString(7, e.type().equals("CHECK_OUT") ? "recorded" : e.job() == null ? "skipped" : "queued");
                ps.setObject(8, e.job() == null ? null : e.job().id()[0]);
                ps.executeUpdate();
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO environment_status_change (environment_id, from_status, to_status, actor, changed_at)
                VALUES (?, 'PENDING', 'READY', 'retention-test', ?) RETURNING id""")) {
            for (StatusChange s : changes) {
                ps.setString(1, s.env());
                ps.setObject(2, base.minusHours(s.ageHours()));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    s.id()[0] = rs.getLong(1);
                }
            }
        }
    }

    /** The model: each device's newest event (by occurredAt), or newest event of {@code type}. */
    private static List<Event> newestPerDevice(List<Event> events, String type) {
        Map<String, Event> newest = new java.util.HashMap<>();
        for (Event e : events) {
            if (type == null || e.type().equals(type)) {
                newest.merge(e.env() + "/" + e.device(), e, (a, b) -> a.occurredMillisAgo() <= b.occurredMillisAgo() ? a : b);
            }
        }
        return new ArrayList<>(newest.values());
    }

    private static List<Event> keptEvents(List<Event> events) {
        Set<Event> kept = new HashSet<>(newestPerDevice(events, null));
        kept.addAll(newestPerDevice(events, "CHECK_OUT"));
        events.stream().filter(e -> e.receivedAgeHours() < EVENTS_H).forEach(kept::add);
        return new ArrayList<>(kept);
    }

    private static Set<Long> keptJobs(List<Job> jobs, List<Event> events) {
        Set<Long> kept = new HashSet<>();
        newestPerDevice(events, null).stream().filter(e -> e.job() != null).forEach(e -> kept.add(e.job().id()[0]));
        for (Job j : jobs) {
            long limit = j.state().equals("failed") ? DEAD_H : FINISHED_H;
            if (j.open() || j.ageHours() < limit) {
                kept.add(j.id()[0]);
            }
        }
        return kept;
    }

    private static List<Long> keptChanges(List<StatusChange> changes) {
        Set<Long> kept = new HashSet<>();
        for (String env : ENVS) { // the newest; of two alike the later id (the database orders by time, then id)
            changes.stream().filter(s -> s.env().equals(env))
                    .min(Comparator.comparingLong(StatusChange::ageHours).thenComparing(s -> -s.id()[0]))
                    .ifPresent(s -> kept.add(s.id()[0]));
        }
        changes.stream().filter(s -> s.ageHours() < AUDIT_H).forEach(s -> kept.add(s.id()[0]));
        return new ArrayList<>(kept);
    }

    /** The device history still starts with its newest event, and shows that event's job. */
    private static void lastStateShown(Event newest) {
        JsonObject h = http.get(gw.managementPort(), "/admin/devices/" + newest.device() + "/history?environmentId="
                + newest.env(), TestGateway.ADMIN).bodyAsJsonObject();
        assertThat(h.getJsonArray("events").getJsonObject(0).getString("eventId")).isEqualTo(newest.eventId());
        if (newest.job() != null) {
            assertThat(ids(h.getJsonArray("jobs"))).contains(newest.job().id()[0]);
        }
    }

    /** A check-in that happened before the device's kept newest check-out makes no job (the next user keeps it). */
    private static void lateCheckInSuperseded(Event checkOut, long seed) {
        String occurredAt = BASE.get().minusNanos((checkOut.occurredMillisAgo() + 60_000) * 1_000_000L).toInstant().toString();
        JsonObject answer = http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, Fixtures.checkIn(
                "late-" + Long.toHexString(seed) + "-" + checkOut.device(), checkOut.env(), checkOut.device(), occurredAt))
                .bodyAsJsonObject();
        assertThat(answer.getJsonArray("results").getJsonObject(0).getString("outcome")).isEqualTo("superseded");
    }

    private static void stillDuplicate(Event e) {
        String occurredAt = BASE.get().minusNanos(e.occurredMillisAgo() * 1_000_000L).toInstant().toString();
        JsonObject event = Fixtures.checkIn(e.eventId(), e.env(), e.device(), occurredAt).put("type", e.type());
        JsonObject answer = http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, event).bodyAsJsonObject();
        assertThat(answer.getJsonArray("results").getJsonObject(0).getString("status")).isEqualTo("duplicate");
    }

    private static List<Long> ids(JsonArray jobs) {
        List<Long> ids = new ArrayList<>();
        jobs.forEach(j -> ids.add(((JsonObject) j).getLong("id")));
        return ids;
    }

    private static List<String> strings(Connection c, String sql) throws SQLException {
        return column(c, sql).stream().map(String::valueOf).toList();
    }

    private static List<Long> longs(Connection c, String sql) throws SQLException {
        return column(c, sql).stream().map(v -> ((Number) v).longValue()).toList();
    }

    private static List<Object> column(Connection c, String sql) throws SQLException {
        List<Object> out = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getObject(1));
            }
        }
        return out;
    }
}
