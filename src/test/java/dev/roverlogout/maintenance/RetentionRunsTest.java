package dev.roverlogout.maintenance;

import static dev.roverlogout.testing.TestPostgres.count;
import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.json.JsonObject;

/** The retention cleaner as replicas run it: one at a time, stopped mid-run by a shutdown, resumed by the next run. */
class RetentionRunsTest {
    private static final int EXPIRED = 30_000;
    private static final int DEVICES = 500;

    /**
     * {@code EXPIRED} check-ins received 40 days ago (over 500 devices), and for each device a check-out received now,
     * so that every old event is deletable (none is a device's newest event or newest check-out).
     */
    private static void expiredHistory(String url) throws Exception {
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement()) {
            s.execute("""
                    INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, received_at, outcome)
                    SELECT 'ret-bulk', 'old-' || g, 'CHECK_IN', 'dev-' || (g %% %d),
                           now() - interval '40 days' + g * interval '1 ms', now() - interval '40 days' + g * interval '1 ms', 'skipped'
                      FROM generate_series(1, %d) g
                    """.formatted(DEVICES, EXPIRED));
            s.execute("""
                    INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, received_at, outcome)
                    SELECT 'ret-bulk', 'now-' || g, 'CHECK_OUT', 'dev-' || g, now(), now(), 'recorded'
                      FROM generate_series(0, %d) g
                    """.formatted(DEVICES - 1));
        }
    }

    private static Map<String, String> retention(String interval, String batch) {
        return Map.of("RLG_RETENTION_INTERVAL", interval, "RLG_RETENTION_BATCHSIZE", batch);
    }

    @Test
    @DisplayName("two gateways on one database never run the cleaner at the same time, and a held lock holds both off")
    void oneReplicaAtATime() throws Exception {
        String url = TestPostgres.newDatabase();
        try (TestGateway a = TestGateway.start(url, retention("1s", "1000")); Http http = new Http()) {
            Fixtures.environment(http, a, "ret-bulk", "READY");
            expiredHistory(url);
            try (TestGateway b = TestGateway.start(url, retention("1s", "1000"))) {
                // both try every second; the first run takes many batches with pauses between them
                Await.until(() -> count(url, "SELECT count(*) FROM retention_run WHERE outcome = 'completed'") >= 4, 120);
                List<long[]> runs = runs(url);
                for (int i = 1; i < runs.size(); i++) {
                    assertThat(runs.get(i)[0]).as("run %d starts after run %d ended", i, i - 1)
                            .isGreaterThanOrEqualTo(runs.get(i - 1)[1]);
                }
                assertThat(count(url, "SELECT count(*) FROM device_event WHERE event_id LIKE 'old-%'")).isZero();

                // whoever holds the lock, no gateway runs: here a session of the test's own holds it
                try (Connection holder = TestPostgres.connect(url); Statement s = holder.createStatement()) {
                    s.execute("SELECT pg_advisory_lock(727067, 2)");
                    long before = count(url, "SELECT count(*) FROM retention_run");
                    Thread.sleep(3_000); // three intervals of both gateways
                    assertThat(count(url, "SELECT count(*) FROM retention_run")).isEqualTo(before);
                    s.execute("SELECT pg_advisory_unlock(727067, 2)");
                    Await.until(() -> count(url, "SELECT count(*) FROM retention_run") > before, 30);
                }
            }
        }
    }

    /** [start, end] of every finished run in epoch microseconds, in start order. */
    private static List<long[]> runs(String url) throws Exception {
        List<long[]> runs = new ArrayList<>();
        try (Connection c = TestPostgres.connect(url); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT (EXTRACT(EPOCH FROM started_at) * 1e6)::bigint, "
                     + "(EXTRACT(EPOCH FROM finished_at) * 1e6)::bigint FROM retention_run WHERE finished_at IS NOT NULL "
                     + "ORDER BY started_at")) {
            while (rs.next()) {
                runs.add(new long[] {rs.getLong(1), rs.getLong(2)});
            }
        }
        return runs;
    }

    @Test
    @DisplayName("a shutdown mid-run stops the cleaner after its batch, within the budget; the next run deletes the rest, "
            + "and GET /admin/retention and /metrics show it")
    void stopsMidRunAndResumes() throws Exception {
        String url = TestPostgres.newDatabase();
        Logger lifecycle = (Logger) LoggerFactory.getLogger(dev.roverlogout.lifecycle.Lifecycle.class);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        lifecycle.addAppender(captured);
        try (Http http = new Http()) {
            TestGateway first = TestGateway.start(url, retention("1h", "100"));
            try {
                Fixtures.environment(http, first, "ret-bulk", "READY");
                expiredHistory(url);
                first.gateway().retention().runNow(); // not awaited: the stop comes in the middle of it
                Await.until(() -> count(url, "SELECT coalesce(max(device_events), 0) FROM retention_run") > 0, 60);
            } finally {
                first.close();
            }
            assertThat(captured.list).noneMatch(e -> e.getFormattedMessage().contains("did not stop within the shutdown budget"));
            assertThat(TestPostgres.column(url, "SELECT outcome FROM retention_run")).containsExactly("stopped");
            long deleted = count(url, "SELECT device_events FROM retention_run");
            assertThat(deleted).isBetween(1L, EXPIRED - 1L);
            assertThat(count(url, "SELECT count(*) FROM device_event WHERE event_id LIKE 'old-%'")).isEqualTo(EXPIRED - deleted);

            try (TestGateway second = TestGateway.start(url, retention("1h", "5000"))) {
                TestGateway.join(second.gateway().retention().runNow());
                assertThat(count(url, "SELECT count(*) FROM device_event WHERE event_id LIKE 'old-%'")).isZero();
                assertThat(count(url, "SELECT count(*) FROM device_event")).isEqualTo(DEVICES); // the check-outs stay
                JsonObject status = http.get(second.managementPort(), "/admin/retention", TestGateway.ADMIN).bodyAsJsonObject();
                assertThat(status.getJsonObject("settings").getString("deviceEvents")).isEqualTo("30d");
                assertThat(status.getJsonObject("settings").getInteger("batchSize")).isEqualTo(5000);
                JsonObject last = status.getJsonObject("lastRun");
                assertThat(last.getString("outcome")).isEqualTo("completed");
                assertThat(last.getJsonObject("deleted").getLong("device_event")).isEqualTo(EXPIRED - deleted);
                assertThat(last.getString("replica")).isEqualTo(second.gateway().replicaId());
                assertThat(status.getValue("running")).isNull();
                assertThat(status.getJsonObject("oldest").getString("device_event")).isNotNull();
                String metrics = http.get(second.managementPort(), "/metrics", null).bodyAsString();
                assertThat(metrics).contains("rlg_retention_deleted_total{table=\"device_event\"} " + (double) (EXPIRED - deleted));
                assertThat(metrics).containsPattern("(?m)^rlg_retention_last_run_timestamp_seconds [1-9]");
            }
        } finally {
            lifecycle.detachAppender(captured);
        }
    }
}
