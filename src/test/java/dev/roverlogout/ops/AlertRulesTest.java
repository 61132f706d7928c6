package dev.roverlogout.ops;

import static dev.roverlogout.ops.KubernetesManifestsTest.castMap;
import static dev.roverlogout.ops.KubernetesManifestsTest.list;
import static dev.roverlogout.ops.KubernetesManifestsTest.map;
import static dev.roverlogout.testing.Fixtures.checkIn;
import static dev.roverlogout.testing.Fixtures.environment;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.roverlogout.testing.Await;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.SimulatedEpic;
import dev.roverlogout.testing.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The alert rules name only metrics a running gateway really exports (scraped after it has done some of
 * everything: ingest, a refusal, a token, an Epic call), and each alert has its runbook section.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AlertRulesTest {
    private static final Pattern METRIC = Pattern.compile("\\b((?:rlg|vertx|jvm|process)_[a-z0-9_]+|up)\\b");
    private String scraped;
    private Set<String> exported;

    @BeforeAll
    void scrape() throws Exception {
        scraped = scrapeBusyGateway();
        exported = new TreeSet<>();
        for (String line : scraped.split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                exported.add(line.replaceAll("[{ ].*", ""));
            }
        }
    }

    @Test
    @DisplayName("promtool: the alert rules pass `promtool check rules`, the scraped /metrics pass `promtool check metrics`")
    void promtool() throws Exception {
        List<Map<String, Object>> docs = KubernetesManifestsTest.render("prod");
        Map<String, Object> rule = KubernetesManifestsTest.one(docs, "PrometheusRule", "rover-logout-gateway");
        Path rules = Files.createTempFile("rules", ".yaml");
        try {
            Files.writeString(rules, new org.yaml.snakeyaml.Yaml().dump(map(rule, "spec")));
            assertThat(run(null, "promtool", "check", "rules", rules.toString())).startsWith("0 ");
        } finally {
            Files.deleteIfExists(rules);
        }
        assertThat(run(scraped, "promtool", "check", "metrics")).isEqualTo("0 ");
    }

    /** Runs a tool (stdin = {@code input}); "exit-code output". Fails clearly when the tool is missing. */
    private static String run(String input, String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            throw new AssertionError(command[0] + " is needed (Debian package prometheus; .ci/run installs it): " + e.getMessage());
        }
        if (input != null) {
            p.getOutputStream().write(input.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        return p.exitValue() + " " + (p.exitValue() == 0 && command[2].equals("metrics") ? "" : out);
    }

    private static Set<String> metricsIn(String expr) {
        Matcher m = METRIC.matcher(expr);
        Set<String> used = new TreeSet<>();
        while (m.find()) {
            used.add(m.group(1));
        }
        return used;
    }

    @Test
    @DisplayName("the Grafana dashboard parses and every panel queries exported metrics")
    void dashboardMatchesExportedMetrics() throws Exception {
        List<Map<String, Object>> docs = KubernetesManifestsTest.render("prod");
        Map<String, Object> cm = docs.stream().filter(d -> "ConfigMap".equals(d.get("kind"))
                && ((String) map(d, "metadata").get("name")).startsWith("rover-logout-gateway-dashboard")).findFirst().orElseThrow();
        assertThat(castMap(map(cm, "metadata").get("labels"))).containsEntry("grafana_dashboard", "1");
        JsonObject dashboard = new JsonObject((String) map(cm, "data").get("rover-logout-gateway.json"));
        assertThat(dashboard.getString("uid")).isEqualTo("rover-logout-gateway");
        JsonArray panels = dashboard.getJsonArray("panels");
        assertThat(panels.size()).isGreaterThanOrEqualTo(14);
        for (Object p : panels) {
            JsonObject panel = (JsonObject) p;
            for (Object t : panel.getJsonArray("targets")) {
                Set<String> used = metricsIn(((JsonObject) t).getString("expr"));
                assertThat(used).as(panel.getString("title")).isNotEmpty();
                assertThat(exported).as(panel.getString("title") + " may only use exported metrics").containsAll(used);
            }
        }
    }

    @Test
    @DisplayName("every alert expression uses exported metric names, and every alert has a runbook section")
    void alertsMatchExportedMetrics() throws Exception {
        List<Map<String, Object>> docs = KubernetesManifestsTest.render("prod");
        Map<String, Object> rule = KubernetesManifestsTest.one(docs, "PrometheusRule", "rover-logout-gateway");
        List<Map<String, Object>> rules = list(list(map(rule, "spec"), "groups").get(0), "rules");
        assertThat(rules).hasSizeGreaterThanOrEqualTo(9);

        String runbook = Files.readString(Path.of("docs", "runbook.md"));
        for (Map<String, Object> r : rules) {
            String alert = (String) r.get("alert");
            Set<String> used = metricsIn((String) r.get("expr"));
            assertThat(used).as(alert + " uses metrics").isNotEmpty();
            used.remove("up"); // Prometheus' own series of each scrape target, not one of ours
            assertThat(exported).as(alert + " may only use exported metrics").containsAll(used);
            assertThat(runbook).as("runbook section for " + alert).contains("## " + alert + "\n");
            assertThat((String) castMap(r.get("annotations")).get("runbook_url"))
                    .endsWith("docs/runbook.md#" + alert.toLowerCase());
            assertThat(castMap(r.get("labels"))).containsKey("severity");
        }
    }

    /** /metrics of a gateway that has ingested, refused, fetched a token and called Epic. */
    static String scrapeBusyGateway() throws Exception {
        try (TestGateway gw = TestGateway.start(Map.of("RLG_DISPATCH_ENABLED", "true", "RLG_DISPATCH_LEASEDURATION", "3s",
                "RLG_DISPATCH_POLLINTERVAL", "200ms", "RLG_METRICS_QUEUESTATSINTERVAL", "500ms"));
             Http http = new Http();
             SimulatedEpic sim = new SimulatedEpic(gw, http, new JsonArray()
                     .add(SimulatedEpic.instance(gw, "ALERTS", "client-alerts", "alerts")))) {
            http.post(gw.managementPort(), "/admin/environments", TestGateway.ADMIN, environment("alerts")
                    .put("interconnectUrl", sim.url()).put("instance", "ALERTS").put("allowInsecure", true));
            http.post(gw.managementPort(), "/admin/environments/alerts/activate", TestGateway.ADMIN, null);
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, checkIn("al-1", "alerts", "dev-1", "2026-11-29T07:00:00Z"));
            http.post(gw.publicPort(), "/v1/checkins", TestGateway.INGEST, new JsonObject()); // refused: 400
            Await.until(() -> sim.stats("ALERTS").getLong("devices") == 1, 20);
            String[] text = {""};
            Await.until(() -> {
                text[0] = http.get(gw.managementPort(), "/metrics", null).bodyAsString();
                return text[0].contains("\nrlg_disassociations_total{") && text[0].contains("\nrlg_environment_status{")
                        && text[0].contains("\nrlg_environment_diagnosis{")
                        && text[0].contains("\nvertx_http_server_response_time_seconds_bucket{");
            }, 10);
            return text[0];
        }
    }
}
