package dev.roverlogout;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonObject;

/** The newcomer's path: the demo comes up with a READY sandbox, and a check-in becomes an Epic call. */
class DemoTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("demo: a check-in is called at the simulated Epic and shows in the device history; a second demo "
            + "in the same directory reuses the sandbox")
    void checkInBecomesEpicCall() throws Exception {
        Map<String, String> env = Map.of("RLG_HTTP_HOST", "127.0.0.1", "RLG_HTTP_PORT", "0", "RLG_MANAGEMENT_PORT", "0");
        Path data = dir.resolve("demo");
        try (Http http = new Http()) {
            for (int run = 1; run <= 2; run++) {
                Demo demo = Demo.start(Demo.config(Optional.empty(), env, data), 0);
                try {
                    Gateway gw = demo.gateway();
                    String device = "ipad-" + run;
                    assertThat(demo.instructions(data)).contains("/v1/checkins", "/_sim/stats", "/admin/devices/ipad-0042/history",
                                    "http://localhost:" + gw.managementPort() + "/console/")
                            .doesNotContain(gw.token(BearerAuth.Role.INGEST)).doesNotContain(gw.token(BearerAuth.Role.ADMIN));
                    assertThat(Files.readString(data.resolve("tokens.properties"))).contains(gw.token(BearerAuth.Role.INGEST));
                    assertThat(http.post(gw.publicPort(), "/v1/checkins", gw.token(BearerAuth.Role.INGEST), new JsonObject()
                            .put("eventId", "demo-" + run).put("environmentId", Demo.ENVIRONMENT).put("deviceId", device)
                            .put("occurredAt", java.time.OffsetDateTime.now().toString())).statusCode()).isEqualTo(202);
                    Await.until(() -> http.get(demo.simPort(), "/_sim/stats", null).bodyAsJsonObject()
                            .getJsonObject("instances").getJsonObject(Demo.INSTANCE).getJsonObject("callsPerDevice")
                            .getLong(device, 0L) == 1, 30);
                    JsonObject history = http.get(gw.managementPort(), "/admin/devices/" + device + "/history",
                            gw.token(BearerAuth.Role.ADMIN)).bodyAsJsonObject();
                    Await.until(() -> http.get(gw.managementPort(), "/admin/devices/" + device + "/history",
                            gw.token(BearerAuth.Role.ADMIN)).bodyAsJsonObject().getJsonArray("attempts").size() == 1, 10);
                    assertThat(history.getJsonArray("events").getJsonObject(0).getString("outcome")).isEqualTo("queued");
                } finally {
                    TestGateway.join(demo.stop());
                }
            }
        }
    }
}
