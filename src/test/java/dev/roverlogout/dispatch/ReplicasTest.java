package dev.roverlogout.dispatch;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Fixtures;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import dev.roverlogout.testing.TestPostgres;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Two gateways on one database: one owner per lane, the limit holds globally, and a dead replica's lanes move. */
class ReplicasTest {
    private static final Map<String, String> FAST_LEASES = Map.of("RLG_DISPATCH_ENABLED", "true",
            "RLG_DISPATCH_LEASEDURATION", "2s", "RLG_DISPATCH_POLLINTERVAL", "200ms");

    @Test
    @DisplayName("two replicas: each lane has one owner, no device is called twice, no second exceeds the limit; "
            + "when one replica dies without cleanup the other takes its lanes over and nothing is lost")
    void leasesAcrossReplicas() throws Exception {
        String url = TestPostgres.newDatabase();
        TestGateway first = TestGateway.start(url, FAST_LEASES);
        TestGateway second = TestGateway.start(url, FAST_LEASES);
        try (Http http = new Http(); SimulatedEpic sim = new SimulatedEpic(first, http, new JsonArray()
                .add(SimulatedEpic.instance(first, "A", "client-rep-a", "rep-a"))
                .add(SimulatedEpic.instance(first, "B", "client-rep-b", "rep-b")))) {
            for (String id : new String[] {"rep-a", "rep-b"}) {
                assertThat(http.post(first.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(id)
                        .put("interconnectUrl", sim.url()).put("instance", id.substring(4).toUpperCase())
                        .put("allowInsecure", true).put("rateLimitPerSecond", 20).put("burst", 5)).statusCode()).isEqualTo(201);
                http.post(first.managementPort(), "/admin/environments/" + id + "/activate", TestGateway.ADMIN, null);
            }
            send(http, first, "rep-a", 0, 150);
            send(http, second, "rep-b", 0, 150);
            Await.until(() -> sim.stats("A").getLong("devices") >= 40 && sim.stats("B").getLong("devices") >= 40, 30);

            // one replica dies: its Vert.x stops without releasing leases or recording what it had in flight
            TestGateway.join(first.gateway().vertx().close());
            send(http, second, "rep-a", 150, 50);
            send(http, second, "rep-b", 150, 50);
            Await.until(() -> sim.stats("A").getLong("devices") == 200 && sim.stats("B").getLong("devices") == 200, 60);

            for (String instance : new String[] {"A", "B"}) {
                JsonObject stats = sim.stats(instance);
                assertThat(stats.getLong("maxCallsPerSecond")).as(instance + " max per second " + stats.getValue("callsPerSecond")).isLessThanOrEqualTo(25);
                // at-least-once: only calls in flight at the crash may repeat (at most maxConcurrency of them)
                assertThat(stats.getLong("duplicateCalls")).as(instance + " duplicates").isLessThanOrEqualTo(8);
            }
        } finally {
            second.close(); // the first one is already gone with its Vert.x (it used the shared test database)
        }
    }

    @Test
    @DisplayName("lanes spread over replicas: a replica that starts next to one owning every lane gets its share")
    void lanesSpread() throws Exception {
        String url = TestPostgres.newDatabase();
        TestGateway first = TestGateway.start(url, FAST_LEASES);
        TestGateway second = null;
        try (Http http = new Http()) {
            for (int i = 0; i < 4; i++) {
                Fixtures.environment(http, first, "spread-" + i, "READY");
            }
            Await.until(() -> owners(url).getOrDefault(first.gateway().replicaId(), 0L) == 4, 10);
            second = TestGateway.start(url, FAST_LEASES);
            String secondId = second.gateway().replicaId();
            Await.until(() -> owners(url).getOrDefault(first.gateway().replicaId(), 0L) == 2
                    && owners(url).getOrDefault(secondId, 0L) == 2, 15);
            TestGateway s = second;
            Await.until(() -> http.get(s.managementPort(), "/metrics", null).bodyAsString().lines()
                    .filter(l -> l.startsWith("rlg_lane_owned{") && l.endsWith(" 1.0")).count() == 2, 10);
        } finally {
            if (second != null) {
                second.close();
            }
            first.close();
        }
    }

    /** Live leases per owning replica. */
    private static Map<String, Long> owners(String url) {
        Map<String, Long> owners = new java.util.HashMap<>();
        TestPostgres.column(url, "SELECT owner FROM lane_lease WHERE expires_at > now()")
                .forEach(o -> owners.merge((String) o, 1L, Long::sum));
        return owners;
    }

    private static void send(Http http, TestGateway gw, String env, int from, int count) {
        JsonArray events = new JsonArray();
        for (int i = from; i < from + count; i++) {
            events.add(checkIn(env + "-" + i, env, "dev-" + i, "2026-11-29T07:00:00Z"));
        }
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events))
                .statusCode()).isEqualTo(202);
    }
}
