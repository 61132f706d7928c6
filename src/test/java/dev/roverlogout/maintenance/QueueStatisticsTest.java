package dev.roverlogout.maintenance;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.checkOut;
import static dev.roverlogout.testing.Fixtures.environment;
import static dev.roverlogout.testing.TestPostgres.count;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Queue depth from counters kept by the writers' own transactions: after every kind of change a job can go through
 * (queued, coalesced, cancelled by a check-out, claimed, retried, dead-lettered, replayed, given back on pause,
 * deleted with its environment), {@code rlg_queue_depth} equals an exact count of the queue.
 */
class QueueStatisticsTest {
    private static final Pattern DEPTH = Pattern.compile("(?m)^rlg_queue_depth\\{environment=\"([^\"]+)\"} (\\S+)$");

    @Test
    @DisplayName("rlg_queue_depth equals count(*) of queued jobs after ingest, coalescing, cancels, retries, dead letters, "
            + "replays, pauses and a deleted environment")
    void depthMatchesTheQueue() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_METRICS_QUEUESTATSINTERVAL", "200ms",
                "RLG_DISPATCH_RETRY_BASE", "50ms", "RLG_DISPATCH_RETRY_CAP", "200ms", "RLG_DISPATCH_RETRY_MAXATTEMPTS", "2",
                "RLG_DISPATCH_CIRCUIT_MAXFAILURES", "1000", "RLG_DISPATCH_CIRCUIT_MINCALLS", "100000"));
             Http http = new Http();
             SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray()
                     .add(SimulatedEpic.instance(gw, "FLAKY", "client-qd-flaky", "qd-flaky").put("errorRate", 0.4))
                     .add(SimulatedEpic.instance(gw, "PAUSED", "client-qd-paused", "qd-paused")))) {
            create(http, gw, sim, "qd-flaky", "FLAKY");
            create(http, gw, sim, "qd-paused", "PAUSED");
            create(http, gw, sim, "qd-gone", "PAUSED");
            for (String id : new String[] {"qd-flaky", "qd-paused", "qd-gone"}) {
                http.post(gw.managementPort(), "/admin/environments/" + id + "/activate", TestGateway.ADMIN, null);
            }
            http.post(gw.managementPort(), "/admin/environments/qd-paused/pause", TestGateway.ADMIN, null);
            http.post(gw.managementPort(), "/admin/environments/qd-gone/pause", TestGateway.ADMIN, null);

            JsonArray events = new JsonArray();
            for (int i = 0; i < 200; i++) {
                events.add(checkIn("f-" + i, "qd-flaky", "dev-" + i, "2026-11-29T07:00:00Z"));
                events.add(checkIn("p-" + i, "qd-paused", "dev-" + i, "2026-11-29T07:00:00Z"));
                events.add(checkIn("p2-" + i, "qd-paused", "dev-" + i % 150, "2026-11-29T07:01:00Z")); // coalesced
                events.add(checkIn("g-" + i, "qd-gone", "dev-" + i, "2026-11-29T07:00:00Z"));
            }
            for (int i = 0; i < 40; i++) {
                events.add(checkOut("o-" + i, "qd-paused", "dev-" + i, "2026-11-29T07:30:00Z")); // cancels
            }
            for (int from = 0; from < events.size(); from += 500) {
                JsonArray part = new JsonArray(events.getList().subList(from, Math.min(events.size(), from + 500)));
                assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", part))
                        .statusCode()).isEqualTo(202);
            }
            // the flaky environment drains: retries, and dead letters after two attempts
            Await.until(() -> count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE environment_id = "
                    + "'qd-flaky' AND state IN ('queued', 'sending')") == 0, 120);
            assertThat(count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE state = 'failed'")).isPositive();
            depthsMatch(http, gw);

            sim.configure("FLAKY", new JsonObject().put("errorRate", 0.0));
            http.post(gw.managementPort(), "/admin/dead-letters/replay", TestGateway.ADMIN,
                    new JsonObject().put("environmentId", "qd-flaky"));
            http.send(HttpMethod.DELETE, gw.managementPort(), "/admin/environments/qd-gone?force=true", TestGateway.ADMIN, null);
            depthsMatch(http, gw);

            http.post(gw.managementPort(), "/admin/environments/qd-paused/resume", TestGateway.ADMIN, null);
            Thread.sleep(300);
            http.post(gw.managementPort(), "/admin/environments/qd-paused/pause", TestGateway.ADMIN, null); // mid-drain
            depthsMatch(http, gw);
            http.post(gw.managementPort(), "/admin/environments/qd-paused/resume", TestGateway.ADMIN, null);
            Await.until(() -> count(gw.databaseUrl(), "SELECT count(*) FROM disassociation_job WHERE state IN ('queued', 'sending')") == 0, 120);
            depthsMatch(http, gw);
            assertThat(depths(http, gw)).containsOnlyKeys("qd-flaky", "qd-paused").allSatisfy((env, depth) -> assertThat(depth).isZero());
        }
    }

    private static void create(Http http, TestGateway gw, SimulatedEpic sim, String id, String instance) {
        assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(id)
                .put("interconnectUrl", sim.url()).put("instance", instance).put("allowInsecure", true)
                .put("rateLimitPerSecond", 200).put("burst", 50).put("maxConcurrency", 8)).statusCode()).isEqualTo(201);
    }

    /** Waits for a statistics round in which every environment's gauge equals the exact count (jobs may still move). */
    private static void depthsMatch(Http http, TestGateway gw) throws InterruptedException {
        String url = gw.databaseUrl();
        Await.until(() -> {
            Map<String, Long> gauges = depths(http, gw);
            Map<String, Long> exact = new java.util.HashMap<>();
            TestPostgres.column(url, "SELECT id FROM environment").forEach(id -> exact.put((String) id, count(url,
                    "SELECT count(*) FROM disassociation_job WHERE environment_id = ? AND state = 'queued'", id)));
            return gauges.equals(exact);
        }, 30);
        // and the counters themselves, read the way statistics read them
        assertThat(count(url, "SELECT count(*) FROM environment e WHERE COALESCE((SELECT queued FROM queue_depth q "
                + "WHERE q.environment_id = e.id), 0) + COALESCE((SELECT sum(delta) FROM queue_depth_delta d "
                + "WHERE d.environment_id = e.id), 0) <> (SELECT count(*) FROM disassociation_job j "
                + "WHERE j.environment_id = e.id AND j.state = 'queued')")).isZero();
    }

    private static Map<String, Long> depths(Http http, TestGateway gw) {
        Map<String, Long> depths = new java.util.HashMap<>();
        Matcher m = DEPTH.matcher(http.get(gw.managementPort(), "/metrics", null).bodyAsString());
        while (m.find()) {
            depths.put(m.group(1), (long) Double.parseDouble(m.group(2)));
        }
        return depths;
    }
}
