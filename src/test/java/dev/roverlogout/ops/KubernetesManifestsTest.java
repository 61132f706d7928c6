package dev.roverlogout.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import dev.roverlogout.config.ConfigLoader;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.testing.Http;
import dev.roverlogout.testing.TestGateway;

/**
 * The manifests as Kubernetes will see them: `kubectl kustomize` renders each overlay (kubectl is on these
 * machines; .ci/run says so when it is missing), and what they name — probe paths, ports, the metrics path, the
 * configuration and its environment overrides — must be what the gateway really serves and reads.
 */
class KubernetesManifestsTest {
    @ParameterizedTest(name = "overlay {0}")
    @ValueSource(strings = {"dev", "prod"})
    void renderedManifestsMatchTheCode(String overlay) throws Exception {
        List<Map<String, Object>> docs = render(overlay);
        Map<String, Object> deployment = one(docs, "Deployment", "rover-logout-gateway");
        Map<String, Object> pod = map(map(map(deployment, "spec"), "template"), "spec");
        Map<String, Object> container = list(pod, "containers").get(0);
        GatewayConfig defaults = ConfigLoader.load(Optional.empty(), Map.of());

        // ports: what the gateway listens on by default, by name
        Map<String, Integer> ports = new HashMap<>();
        list(container, "ports").forEach(p -> ports.put((String) p.get("name"), (Integer) p.get("containerPort")));
        assertThat(ports).containsEntry("http", defaults.http().port()).containsEntry("management", defaults.management().port());

        // probes on the management port, at the paths ManagementApi serves (checked live below)
        assertThat(probe(container, "livenessProbe")).isEqualTo("management /health/live");
        assertThat(probe(container, "startupProbe")).isEqualTo("management /health/live");
        assertThat(probe(container, "readinessProbe")).isEqualTo("management /health/ready");

        // graceful stop: preStop + the gateway's shutdown.timeout + a lane's calls under way fit in the grace period
        int grace = (Integer) pod.get("terminationGracePeriodSeconds");
        List<Object> preStopCommand = castList(map(map(map(container, "lifecycle"), "preStop"), "exec").get("command"));
        assertThat(preStopCommand.get(0)).isEqualTo("sleep");
        int preStop = Integer.parseInt((String) preStopCommand.get(1));
        assertThat(grace).isGreaterThan(preStop + (int) defaults.shutdownTimeout().toSeconds()
                + (int) defaults.dispatch().leaseDuration().dividedBy(2).toSeconds());

        // the configuration file mounted where --config points, generated from conf/gateway.yaml
        List<Object> args = castList(container.get("args"));
        String configPath = (String) args.get(args.indexOf("--config") + 1);
        Map<String, Object> mount = list(container, "volumeMounts").stream()
                .filter(m -> configPath.startsWith(m.get("mountPath") + "/")).findFirst().orElseThrow();
        Map<String, Object> volume = list(pod, "volumes").stream().filter(v -> v.get("name").equals(mount.get("name")))
                .findFirst().orElseThrow();
        String configMapName = (String) map(volume, "configMap").get("name");
        Map<String, Object> configMap = one(docs, "ConfigMap", configMapName);
        String fileName = configPath.substring(configPath.lastIndexOf('/') + 1);
        String shipped = Files.readString(Path.of("conf", "gateway.yaml"));
        assertThat(map(configMap, "data").get(fileName)).isEqualTo(shipped);

        // every RLG_* variable is a key the gateway reads (ConfigLoader refuses unknown ones); secrets by reference only
        Map<String, String> env = new HashMap<>();
        for (Map<String, Object> e : list(container, "env")) {
            String name = (String) e.get("name");
            if (e.containsKey("valueFrom")) {
                assertThat(map(e, "valueFrom")).containsKey("secretKeyRef");
                env.put(name, dummySecret(name));
            } else {
                assertThat(name).as("secrets come from a Secret, never a literal")
                        .isNotIn("RLG_AUTH_ADMINTOKEN", "RLG_AUTH_INGESTTOKEN", "RLG_SECURITY_MASTERKEY");
                env.put(name, (String) e.get("value"));
            }
        }
        Map<String, String> rlg = new HashMap<>(env);
        rlg.keySet().removeIf(k -> !k.startsWith("RLG_"));
        Path config = Files.createTempFile("gateway", ".yaml");
        GatewayConfig loaded;
        try {
            Files.writeString(config, shipped);
            loaded = ConfigLoader.load(Optional.of(config), rlg);
        } finally {
            Files.deleteIfExists(config);
        }
        assertThat(loaded.management().host()).isEqualTo("0.0.0.0");
        // the HPA owns the replica count (an apply must not reset it)
        assertThat(map(deployment, "spec")).doesNotContainKey("replicas");
        Map<String, Object> hpa = map(one(docs, "HorizontalPodAutoscaler", "rover-logout-gateway"), "spec");
        assertThat(env.get("JAVA_TOOL_OPTIONS")).contains("MaxRAMPercentage", "MaxDirectMemorySize");
        if (overlay.equals("prod")) {
            assertThat(env).containsKeys("RLG_DATABASE_URL", "RLG_AUTH_ADMINTOKEN", "RLG_AUTH_INGESTTOKEN", "RLG_SECURITY_MASTERKEY");
            assertThat((Integer) hpa.get("minReplicas")).isGreaterThanOrEqualTo(3);
        } else {
            assertThat((Integer) hpa.get("maxReplicas")).isEqualTo(1);
            one(docs, "StatefulSet", "postgres");
            // generated master key and tokens survive a restart (else the gateway refuses the database's keys)
            Map<String, Object> data = list(pod, "volumes").stream().filter(v -> v.get("name").equals("data")).findFirst().orElseThrow();
            assertThat(data).containsKey("persistentVolumeClaim");
            one(docs, "PersistentVolumeClaim", (String) map(data, "persistentVolumeClaim").get("claimName"));
        }

        // Prometheus scrapes the management Service's port at the path the gateway serves metrics on
        Map<String, Object> monitor = one(docs, "ServiceMonitor", "rover-logout-gateway");
        Map<String, Object> endpoint = list(map(monitor, "spec"), "endpoints").get(0);
        assertThat(endpoint.get("path")).isEqualTo("/metrics");
        Map<String, Object> management = one(docs, "Service", "rover-logout-gateway-management");
        assertThat(list(map(management, "spec"), "ports")).anySatisfy(p -> {
            assertThat(p.get("name")).isEqualTo(endpoint.get("port"));
            assertThat(p.get("targetPort")).isEqualTo("management");
        });
        assertThat(castMap(map(management, "metadata").get("labels")))
                .containsAllEntriesOf(castMap(map(map(monitor, "spec"), "selector").get("matchLabels")));
        one(docs, "PodDisruptionBudget", "rover-logout-gateway");
        one(docs, "HorizontalPodAutoscaler", "rover-logout-gateway");
        one(docs, "NetworkPolicy", "rover-logout-gateway");

        // and the gateway really answers there
        try (TestGateway gw = TestGateway.start(Map.of()); Http http = new Http()) {
            for (String path : new String[] {"/health/live", "/health/ready", (String) endpoint.get("path")}) {
                assertThat(http.get(gw.managementPort(), path, null).statusCode()).as(path).isEqualTo(200);
            }
        }
    }

    private static String dummySecret(String name) {
        return switch (name) {
            case "RLG_DATABASE_URL" -> "postgresql://rover:secret@db.example.org:5432/rover";
            case "RLG_SECURITY_MASTERKEY" -> TestGateway.MASTER_KEY;
            default -> "dummy-token-0123456789abcdef";
        };
    }

    static List<Map<String, Object>> render(String overlay) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("kubectl", "kustomize", "k8s/overlays/" + overlay).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("kubectl 1.21 or newer is needed to render k8s/overlays/" + overlay + " (Debian/Ubuntu: the "
                    + "kubectl package from the Kubernetes apt repository, or a kubectl binary on PATH): " + e.getMessage());
        }
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String text = new String(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("kubectl kustomize k8s/overlays/" + overlay + ":\n" + text).isZero();
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(text)) {
            if (doc != null) {
                docs.add(castMap(doc));
            }
        }
        return docs;
    }

    static Map<String, Object> one(List<Map<String, Object>> docs, String kind, String name) {
        return docs.stream().filter(d -> kind.equals(d.get("kind")) && name.equals(map(d, "metadata").get("name")))
                .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " " + name + " rendered"));
    }

    private static String probe(Map<String, Object> container, String probe) {
        Map<String, Object> get = map(map(container, probe), "httpGet");
        return get.get("port") + " " + get.get("path");
    }

    static Map<String, Object> map(Map<String, Object> m, String key) {
        return castMap(m.get(key));
    }

    static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        List<Map<String, Object>> out = new ArrayList<>();
        castList(m.get(key)).forEach(o -> out.add(castMap(o)));
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> castMap(Object o) {
        assertThat(o).isInstanceOf(Map.class);
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> castList(Object o) {
        assertThat(o).isInstanceOf(List.class);
        return (List<Object>) o;
    }
}
