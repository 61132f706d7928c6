package dev.roverlogout.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Request bodies and set-up steps shared by the tests. */
public final class Fixtures {
    private Fixtures() {
    }

    public static JsonObject environment(String id) {
        return new JsonObject().put("id", id).put("displayName", "Test " + id)
                .put("interconnectUrl", "https://epic.example.org").put("instance", "Interconnect-PRD")
                .put("clientId", "client-" + id).put("rateLimitPerSecond", 20).put("burst", 20).put("maxConcurrency", 8);
    }

    /** Creates the environment and moves it to {@code status} (PENDING, READY, PAUSED or DISABLED). */
    public static void environment(Http http, TestGateway gw, String id, String status) {
        environment(http, gw.managementPort(), id, status);
    }

    public static void environment(Http http, int managementPort, String id, String status) {
        assertThat(http.post(managementPort, "/admin/environments", TestGateway.ADMIN, environment(id)).statusCode())
                .isEqualTo(201);
        String[] steps = switch (status) {
            case "READY" -> new String[] {"activate"};
            case "PAUSED" -> new String[] {"activate", "pause"};
            case "DISABLED" -> new String[] {"disable"};
            default -> new String[0];
        };
        for (String step : steps) {
            assertThat(http.post(managementPort, "/admin/environments/" + id + "/" + step, TestGateway.ADMIN, null)
                    .statusCode()).isEqualTo(200);
        }
    }

    public static JsonObject checkIn(String eventId, String env, String device, String occurredAt) {
        return new JsonObject().put("eventId", eventId).put("environmentId", env).put("deviceId", device)
                .put("occurredAt", occurredAt);
    }

    public static JsonObject checkOut(String eventId, String env, String device, String occurredAt) {
        return checkIn(eventId, env, device, occurredAt).put("type", "CHECK_OUT");
    }

    public static JsonObject batch(JsonObject... events) {
        return new JsonObject().put("events", new JsonArray(java.util.List.of((Object[]) events)));
    }
}
