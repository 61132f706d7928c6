package dev.roverlogout.ops;

import static dev.roverlogout.ops.KubernetesManifestsTest.list;
import static dev.roverlogout.ops.KubernetesManifestsTest.map;
import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.yaml.snakeyaml.Yaml;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.GatewayProcess;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The dashboard and the alerts against a real Prometheus (Debian's {@code prometheus}; {@code .ci/run} installs it):
 * it scrapes a gateway that did some of everything — check-ins and calls, a 429 storm, an Epic outage with an open
 * circuit, a dead letter, a refused request — and evaluates the rules of {@code k8s/} as rendered for production.
 * Every rule must load and evaluate, every dashboard panel must return data, the alerts the scenario causes must be
 * pending or firing, and none that it does not cause.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrometheusEvaluationTest {
    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    /** The job name the Prometheus Operator gives the ServiceMonitor's targets (the management Service's name). */
    private static final String JOB = "rover-logout-gateway-management";
    /**
     * Alerts this scenario must cause (pending or firing), per environment: prom-ok works (one device refused: a dead
     * letter), prom-storm gets 429s (Epic allows 2/s), prom-down is an outage, prom-nokey's key is not synced yet
     * (token requests refused), Epic knows none of prom-mdm's devices (an MDM mismatch).
     */
    private static final Set<String> EXPECTED = Set.of("RoverLogoutCircuitOpen/prom-down", "RoverLogoutEpicFailureRatioHigh/prom-down",
            "RoverLogoutMdmMismatch/prom-mdm");
    /** Devices of prom-mdm: more than the diagnosis needs (50 calls). */
    private static final int MDM_DEVICES = 55;
    /** Alerts the scenario may cause, depending on timing (the outage's jobs may exhaust their attempts, or not yet). */
    private static final Set<String> ALLOWED = Set.of("RoverLogoutTokenFailures/prom-down", "RoverLogoutDeadLettersGrowing/prom-down",
            "RoverLogoutEpicFailureRatioHigh/prom-ok", "RoverLogoutEpicFailureRatioHigh/prom-storm",
            "RoverLogoutTokenFailures/prom-nokey", "RoverLogoutEpicFailureRatioHigh/prom-nokey", "RoverLogoutCircuitOpen/prom-nokey",
            "RoverLogoutDeadLettersGrowing/prom-nokey");

    private TestGateway gw;
    private Http http;
    private SimulatedEpic sim;
    private Process prometheus;
    private Path work;
    private int promPort;

    @BeforeAll
    void start() throws Exception {
        if (!Files.isExecutable(PROMETHEUS)) {
            throw new AssertionError("the Prometheus server is needed: apt-get install prometheus (Debian package; .ci/run installs it)");
        }
        gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_METRICS_QUEUESTATSINTERVAL", "500ms",
                "RLG_DISPATCH_RETRY_BASE", "100ms", "RLG_DISPATCH_RETRY_CAP", "300ms", "RLG_DISPATCH_CIRCUIT_MAXFAILURES", "3",
                "RLG_DISPATCH_CIRCUIT_MINCALLS", "3", "RLG_DISPATCH_CIRCUIT_RESETTIMEOUT", "30s"));
        http = new Http();
        sim = new SimulatedEpic(gw, http, new JsonArray()
                .add(SimulatedEpic.instance(gw, "P-OK", "client-ok", "prom-ok").put("rejectDevices", new JsonArray().add("ok-rejected")))
                .add(SimulatedEpic.instance(gw, "P-STORM", "client-storm", "prom-storm").put("rateLimitPerSecond", 2))
                .add(SimulatedEpic.instance(gw, "P-DOWN", "client-down", "prom-down").put("outage", true))
                .add(SimulatedEpic.instance(gw, "P-NOKEY", "client-nokey", "prom-nokey").put("keySynced", false))
                .add(SimulatedEpic.instance(gw, "P-MDM", "client-mdm", "prom-mdm").put("unknownDevices", mdmDevices())));
        for (String[] e : new String[][] {{"prom-ok", "P-OK", "client-ok"}, {"prom-storm", "P-STORM", "client-storm"},
                {"prom-down", "P-DOWN", "client-down"}, {"prom-nokey", "P-NOKEY", "client-nokey"}, {"prom-mdm", "P-MDM", "client-mdm"}}) {
            assertThat(http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment(e[0])
                    .put("interconnectUrl", sim.url()).put("instance", e[1]).put("clientId", e[2]).put("allowInsecure", true)
                    .put("rateLimitPerSecond", 50).put("burst", 50)).statusCode()).isEqualTo(201);
            assertThat(http.post(gw.managementPort(), "/admin/environments/" + e[0] + "/activate", TestGateway.ADMIN, null)
                    .statusCode()).isEqualTo(200);
        }
        work = Files.createTempDirectory("rlg-prometheus");
        startPrometheus();
    }

    private static JsonArray mdmDevices() {
        JsonArray devices = new JsonArray();
        for (int i = 0; i < MDM_DEVICES; i++) {
            devices.add("mdm-" + i);
        }
        return devices;
    }

    private void startPrometheus() throws Exception {
        List<Map<String, Object>> docs = KubernetesManifestsTest.render("prod");
        Map<String, Object> rule = KubernetesManifestsTest.one(docs, "PrometheusRule", "rover-logout-gateway");
        Files.writeString(work.resolve("rules.yaml"), new Yaml().dump(Map.of("groups", list(map(rule, "spec"), "groups"))));
        Files.writeString(work.resolve("prometheus.yaml"), String.join("\n",
                "global: {scrape_interval: 1s, evaluation_interval: 1s}",
                "rule_files: [" + work.resolve("rules.yaml") + "]",
                "scrape_configs:",
                "  - job_name: " + JOB,
                "    static_configs:",
                "      - targets: ['127.0.0.1:" + gw.managementPort() + "']",
                "        labels: {pod: rover-logout-gateway-0, namespace: rover-logout}", ""));
        try (ServerSocket s = new ServerSocket(0)) {
            promPort = s.getLocalPort();
        }
        prometheus = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + work.resolve("prometheus.yaml"),
                "--storage.tsdb.path=" + work.resolve("data"), "--web.listen-address=127.0.0.1:" + promPort)
                .redirectErrorStream(true).redirectOutput(work.resolve("prometheus.log").toFile()).start();
        Await.until(() -> {
            try {
                return http.get(promPort, "/-/ready", null).statusCode() == 200;
            } catch (RuntimeException e) {
                return false;
            }
        }, 30);
    }

    @AfterAll
    void stop() throws Exception {
        if (prometheus != null) {
            prometheus.destroy();
            prometheus.waitFor(10, TimeUnit.SECONDS);
        }
        if (sim != null) {
            sim.close();
        }
        http.close();
        gw.close();
        GatewayProcess.deleteTree(work);
    }

    private JsonObject query(String promql) {
        return http.get(promPort, "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8), null).bodyAsJsonObject();
    }

    /** An expression as Grafana sends it with every variable at "All" (allValue .*). */
    private static String allValues(String expr) {
        return expr.replace("$namespace", ".*").replace("$job", ".*").replace("$tenant", ".*").replace("$environment", ".*");
    }

    private void scenario() throws Exception {
        JsonArray ok = new JsonArray();
        JsonArray storm = new JsonArray();
        JsonArray down = new JsonArray();
        JsonArray nokey = new JsonArray();
        for (int i = 0; i < 20; i++) {
            ok.add(checkIn("p-ok-" + i, "prom-ok", i == 0 ? "ok-rejected" : "ok-" + i, "2026-11-30T07:00:00Z"));
            down.add(checkIn("p-down-" + i, "prom-down", "down-" + i, "2026-11-30T07:00:00Z"));
            nokey.add(checkIn("p-nokey-" + i, "prom-nokey", "nokey-" + i, "2026-11-30T07:00:00Z"));
        }
        for (int i = 0; i < 200; i++) {
            storm.add(checkIn("p-storm-" + i, "prom-storm", "storm-" + i, "2026-11-30T07:00:00Z"));
        }
        JsonArray mdm = new JsonArray();
        mdmDevices().forEach(d -> mdm.add(checkIn("p-" + d, "prom-mdm", (String) d, "2026-11-30T07:00:00Z")));
        for (JsonArray events : List.of(ok, storm, down, nokey, mdm)) {
            assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject().put("events", events))
                    .statusCode()).isEqualTo(202);
        }
        assertThat(http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject()).statusCode()).isEqualTo(400);
        // a dead letter (Epic refused the device), calls done, 429s, and the outage's circuit open
        Await.until(() -> sim.stats("P-OK").getLong("devices") >= 19, 30);
        Await.until(() -> http.get(gw.managementPort(), "/admin/queue?environmentId=prom-mdm", TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("environments").getJsonObject(0).containsKey("diagnosis"), 60);
        Await.until(() -> http.get(gw.managementPort(), "/admin/queue?environmentId=prom-down", TestGateway.ADMIN).bodyAsJsonObject()
                .getJsonArray("environments").getJsonObject(0).getString("circuit", "").equals("open"), 30);
        Await.until(() -> {
            JsonArray r = query("sum(rlg_disassociations_total{environment=\"prom-ok\",outcome=\"failed\"})")
                    .getJsonObject("data").getJsonArray("result");
            return !r.isEmpty();
        }, 30);
    }

    @Test
    @DisplayName("a real Prometheus scraping a gateway that did everything: every rule evaluates, every dashboard panel "
            + "has data, the caused alerts are pending or firing and no other")
    void dashboardsAndAlertsAgainstPrometheus() throws Exception {
        scenario();
        // every panel of the dashboard returns data, with its variables set to "All" (what Grafana sends for them)
        JsonObject dashboard = new JsonObject(Files.readString(Path.of("k8s/base/dashboards/rover-logout-gateway.json")));
        for (Object v : dashboard.getJsonObject("templating").getJsonArray("list")) {
            JsonObject variable = (JsonObject) v;
            if (!"query".equals(variable.getString("type"))) {
                continue;
            }
            // label_values(<selector>, <label>): the selector must have series carrying the label
            java.util.regex.Matcher lv = java.util.regex.Pattern.compile("label_values\\((.*), *([a-z_]+)\\)")
                    .matcher(variable.getString("definition"));
            assertThat(lv.matches()).as(variable.getString("name")).isTrue();
            String values = "count by (" + lv.group(2) + ") (" + allValues(lv.group(1)) + ")";
            assertThat(query(values).getJsonObject("data").getJsonArray("result")).as("values of $" + variable.getString("name"))
                    .isNotEmpty();
        }
        List<String[]> targets = new ArrayList<>();
        for (Object p : dashboard.getJsonArray("panels")) {
            JsonObject panel = (JsonObject) p;
            for (Object t : panel.getJsonArray("targets")) {
                String expr = allValues(((JsonObject) t).getString("expr"));
                assertThat(expr).as("variables left in " + panel.getString("title")).doesNotContain("$");
                targets.add(new String[] {panel.getString("title"), expr});
            }
        }
        int exprs = targets.size();
        List<String> empty = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // rates need two scrapes of a new series
        do {
            empty.clear();
            for (String[] t : targets) {
                JsonObject answer = query(t[1]);
                assertThat(answer.getString("status")).as(t[0] + ": " + t[1] + " " + answer).isEqualTo("success");
                if (answer.getJsonObject("data").getJsonArray("result").isEmpty()) {
                    empty.add(t[0] + ": " + t[1]);
                }
            }
            if (!empty.isEmpty()) {
                Thread.sleep(1000); // a test thread
            }
        } while (!empty.isEmpty() && System.nanoTime() < deadline);
        assertThat(exprs).isGreaterThanOrEqualTo(16);
        assertThat(empty).as("panels without data").isEmpty();

        // every rule loaded and evaluates without error
        JsonArray groups = http.get(promPort, "/api/v1/rules", null).bodyAsJsonObject().getJsonObject("data").getJsonArray("groups");
        assertThat(groups).hasSize(1);
        JsonArray rules = groups.getJsonObject(0).getJsonArray("rules");
        assertThat(rules.size()).isGreaterThanOrEqualTo(12);
        for (Object r : rules) {
            JsonObject rule = (JsonObject) r;
            assertThat(rule.getString("health")).as(rule.getString("name") + ": " + rule.getString("lastError")).isEqualTo("ok");
        }

        // the alerts the scenario causes, and no other
        Set<String> active = new TreeSet<>();
        Await.until(() -> {
            active.clear();
            for (Object a : http.get(promPort, "/api/v1/alerts", null).bodyAsJsonObject().getJsonObject("data").getJsonArray("alerts")) {
                JsonObject alert = (JsonObject) a;
                JsonObject labels = alert.getJsonObject("labels");
                active.add(labels.getString("alertname") + "/" + labels.getString("environment", labels.getString("pod", "")));
            }
            return active.containsAll(EXPECTED);
        }, 30);
        assertThat(active).as("pending or firing").containsAll(EXPECTED);
        Set<String> unexpected = new TreeSet<>(active);
        unexpected.removeAll(EXPECTED);
        unexpected.removeAll(ALLOWED);
        assertThat(unexpected).as("alerts nothing in the scenario should cause").isEmpty();
    }
}
