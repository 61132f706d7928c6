package dev.roverlogout.maintenance;

import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.store.DiagnosisStore;
import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The MDM diagnosis end to end: a real gateway calls the simulator, which knows most devices of one environment
 * under another id (it answers "not associated"); the admin API and /metrics say so, in words naming the two
 * AppConfig keys, and environments that work (or have too few calls to tell) say nothing. Device ids of two shapes
 * in one environment are flagged too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DiagnosisTest {
    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_POLLINTERVAL", "200ms",
                "RLG_METRICS_QUEUESTATSINTERVAL", "200ms", "RLG_DISPATCH_CIRCUIT_MAXFAILURES", "1000"));
        http = new Http();
        JsonArray unknown = new JsonArray();
        for (int i = 0; i < 60; i++) {
            unknown.add("serial-" + i);
        }
        JsonArray fewUnknown = new JsonArray();
        for (int i = 0; i < 49; i++) {
            fewUnknown.add("few-" + i);
        }
        sim = new SimulatedEpic(gw, http, new JsonArray()
                .add(SimulatedEpic.instance(gw, "MDM", "client-mdm", "mdm").put("unknownDevices", unknown))
                .add(SimulatedEpic.instance(gw, "FEW", "client-few", "few").put("unknownDevices", fewUnknown))
                .add(SimulatedEpic.instance(gw, "FINE", "client-fine", "fine"))
                .add(SimulatedEpic.instance(gw, "SHAPES", "client-shapes", "shapes")));
        for (String[] e : new String[][] {{"mdm", "MDM"}, {"few", "FEW"}, {"fine", "FINE"}, {"shapes", "SHAPES"}}) {
            assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(e[0])
                    .put("interconnectUrl", sim.url()).put("instance", e[1]).put("clientId", "client-" + e[1].toLowerCase())
                    .put("allowInsecure", true).put("rateLimitPerSecond", 500).put("burst", 500)).statusCode()).isEqualTo(201);
            assertThat(http.post(gw.managementPort(), "/admin/environments/" + e[0] + "/activate", TestGateway.ADMIN, null)
                    .statusCode()).isEqualTo(200);
        }
    }

    @AfterAll
    void stop() {
        sim.close();
        http.close();
        gw.close();
    }

    private void checkIns(String env, String... devices) {
        JsonArray events = new JsonArray();
        for (String d : devices) {
            events.add(checkIn(env + "-" + d, env, d, "2026-11-30T07:00:00Z"));
        }
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events))
                .statusCode()).isEqualTo(202);
    }

    private static String[] devices(String prefix, int n) {
        String[] d = new String[n];
        for (int i = 0; i < n; i++) {
            d[i] = prefix + i;
        }
        return d;
    }

    private Optional<JsonObject> queueDiagnosis(String env) {
        JsonObject e = http.get(gw.managementPort(), "/admin/queue?environmentId=" + env, TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("environments").getJsonObject(0);
        return Optional.ofNullable(e.getJsonObject("diagnosis"));
    }

    private String metrics() {
        return http.get(gw.managementPort(), "/metrics", null).bodyAsString();
    }

    private long finished(String env) {
        return dev.roverlogout.testing.TestPostgres.count(gw.databaseUrl(),
                "SELECT count(*) FROM disassociation_job WHERE environment_id = ? AND finished_at IS NOT NULL", env);
    }

    @Test
    @DisplayName("most calls 'not associated': diagnosis mdm_mismatch on /admin/queue and the environment, naming both "
            + "AppConfig keys, and the metric at 1; a working environment and one with too few calls say nothing")
    void mdmMismatch() throws Exception {
        String[] mdm = devices("serial-", 60);
        String[] mdmFine = devices("mdm-ok-", 8); // 60 of 68 not associated: 88 %
        checkIns("mdm", mdm);
        checkIns("mdm", mdmFine);
        checkIns("few", devices("few-", 49)); // every call not associated, but 49 are too few to tell
        checkIns("fine", devices("fine-", 60));
        Await.until(() -> finished("mdm") == 68 && finished("few") == 49 && finished("fine") == 60, 60);
        Await.until(() -> queueDiagnosis("mdm").isPresent(), 30);
        JsonObject d = queueDiagnosis("mdm").orElseThrow();
        assertThat(d.getString("code")).isEqualTo("mdm_mismatch");
        assertThat(d.getString("message")).contains("EpicMobileDeviceID").contains("epicRoverEpicMobileDeviceID")
                .contains("60 of the 68 calls");
        assertThat(d.getLong("calls")).isEqualTo(68);
        assertThat(d.getLong("notAssociated")).isEqualTo(60);
        JsonObject env = http.get(gw.managementPort(), "/admin/environments/mdm", TestGateway.ADMIN).bodyAsJsonObject();
        assertThat(env.getJsonObject("diagnosis").getString("code")).isEqualTo("mdm_mismatch");
        Await.until(() -> metrics().contains("rlg_environment_diagnosis{code=\"mdm_mismatch\",environment=\"mdm\"} 1.0"), 10);
        assertThat(metrics()).contains("rlg_environment_diagnosis{code=\"mdm_mismatch\",environment=\"fine\"} 0.0")
                .contains("rlg_environment_diagnosis{code=\"mdm_mismatch\",environment=\"few\"} 0.0");
        assertThat(queueDiagnosis("few")).as("49 calls are too few to tell").isEmpty();
        assertThat(queueDiagnosis("fine")).isEmpty();
        assertThat(http.get(gw.managementPort(), "/admin/environments/fine", TestGateway.ADMIN).bodyAsJsonObject()
                .containsKey("diagnosis")).isFalse();
    }

    @Test
    @DisplayName("device ids of two shapes (UUIDs and serial numbers) in one environment: diagnosis device_id_shapes")
    void twoDeviceIdShapes() throws Exception {
        checkIns("shapes", "3F2504E0-4F89-11D3-9A0C-0305E82C3301", "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                "6ba7b811-9dad-11d1-80b4-00c04fd430c8", "6ba7b812-9dad-11d1-80b4-00c04fd430c8", "C02XK0AAJGH5",
                "C02XK0ABJGH5", "C02XK0ACJGH5");
        Await.until(() -> queueDiagnosis("shapes").isPresent(), 30);
        JsonObject d = queueDiagnosis("shapes").orElseThrow();
        assertThat(d.getString("code")).isEqualTo("device_id_shapes");
        assertThat(d.getString("message")).contains("4 devices with UUIDs").contains("3 with ids of another shape")
                .contains("EpicMobileDeviceID").contains("epicRoverEpicMobileDeviceID");
        Await.until(() -> metrics().contains("rlg_environment_diagnosis{code=\"device_id_shapes\",environment=\"shapes\"} 1.0"), 10);
    }

    @Test
    @DisplayName("the thresholds: 80 % of at least 50 calls; a minority shape of at least 3 devices and 5 %")
    void thresholds() {
        assertThat(Diagnoses.diagnose(new DiagnosisStore.Window(50, 40, 0, 50))).get()
                .extracting(j -> j.getString("code")).isEqualTo("mdm_mismatch");
        assertThat(Diagnoses.diagnose(new DiagnosisStore.Window(50, 39, 0, 50))).isEmpty();
        assertThat(Diagnoses.diagnose(new DiagnosisStore.Window(49, 49, 0, 49))).isEmpty();
        assertThat(Diagnoses.diagnose(new DiagnosisStore.Window(0, 0, 100, 2))).as("two odd devices").isEmpty();
        assertThat(Diagnoses.diagnose(new DiagnosisStore.Window(0, 0, 100, 4))).as("4 of 104 is under 5 %").isEmpty();
        assertThat(Diagnoses.diagnose(new DiagnosisStore.Window(0, 0, 100, 6))).get()
                .extracting(j -> j.getString("code")).isEqualTo("device_id_shapes");
        assertThat(Diagnoses.diagnose(new DiagnosisStore.Window(60, 60, 30, 30))).get()
                .extracting(j -> j.getJsonArray("codes").getList()).isEqualTo(java.util.List.of("mdm_mismatch", "device_id_shapes"));
    }
}
