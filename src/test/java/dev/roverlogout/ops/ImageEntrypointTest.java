package dev.roverlogout.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import dev.roverlogout.testing.GatewayProcess;
import io.vertx.core.json.JsonArray;

/**
 * No Docker engine runs on these machines, so the image itself is not built here. What the image does at run time
 * is checked instead: the Dockerfile's runtime {@code ENV} (JVM flags included), its {@code CMD} and the config file it
 * copies start a real gateway process, with the image's paths moved into a temporary directory — the "root
 * filesystem" stays untouched (everything goes to the mounted /data and /tmp), and SIGTERM ends the process with exit
 * code 0 within the pod's termination grace period.
 */
class ImageEntrypointTest {
    @Test
    @DisplayName("the image's ENV, CMD and config start the gateway, which writes only to /data and /tmp and stops "
            + "cleanly on SIGTERM within the grace period")
    void entrypointStartsAndStops() throws Exception {
        String dockerfile = Files.readString(Path.of("Dockerfile"));
        String runtime = dockerfile.substring(dockerfile.lastIndexOf("\nFROM "));
        Path root = Files.createTempDirectory("rlg-image");
        try {
            startAndStop(runtime, root);
        } catch (AssertionError | Exception e) {
            printLog(root.resolve("app").resolve("gateway.log")); // the failure messages point at it
            throw e;
        } finally {
            GatewayProcess.deleteTree(root); // the embedded database's files too: tens of MB a run, passed or not
        }
    }

    /** Starts the image's command with its ENV and config under {@code root} and stops it as Kubernetes would. */
    private static void startAndStop(String runtime, Path root) throws Exception {
        Path app = root.resolve("app");
        Files.createDirectories(app.resolve("conf"));
        Files.copy(Path.of("conf/gateway.yaml"), app.resolve("conf/gateway.yaml"));
        Path data = Files.createDirectories(root.resolve("data"));
        Path tmp = Files.createDirectories(root.resolve("tmp"));

        Map<String, String> env = new LinkedHashMap<>();
        env().forEach((k, v) -> env.put(k, v));
        Pattern mounts = Pattern.compile("(?<=^|[\\s=])/(data|tmp)(?=/|\\s|$)");
        imageEnv(runtime).forEach((k, v) -> env.put(k, mounts.matcher(v).replaceAll(m ->
                Matcher.quoteReplacement((m.group(1).equals("data") ? data : tmp).toString()))));
        assertThat(env).containsKeys("JAVA_TOOL_OPTIONS", "RLG_DATADIR");
        assertThat(env.get("JAVA_TOOL_OPTIONS")).contains("-XX:MaxRAMPercentage=");

        assertThat(entrypoint(runtime)).containsExactly("java", "-jar", "/app/rover-logout-gateway.jar");
        List<String> cmd = new ArrayList<>();
        for (String arg : json(runtime, "CMD")) {
            cmd.add(arg.replace("/app", app.toString()));
        }
        List<String> before = files(app);
        // Kubernetes sends SIGTERM after the preStop hook, and SIGKILL at the end of the grace period
        String deployment = Files.readString(Path.of("k8s/base/deployment.yaml"));
        int grace = Integer.parseInt(match(deployment, "terminationGracePeriodSeconds:\\s*(\\d+)"))
                - Integer.parseInt(match(deployment, "command: \\[\"sleep\", \"(\\d+)\"\\]"));

        GatewayProcess gw = GatewayProcess.start(app, env, List.of(), cmd);
        try {
            assertThat(Files.readString(gw.log())).contains("Picked up JAVA_TOOL_OPTIONS")
                    .as("no Micrometer warning at start").doesNotContain("MeterFilter is being configured after")
                    .doesNotContain("has been already registered");
            assertThat(gw.terminate(Duration.ofSeconds(grace))).as("exit code after SIGTERM; see " + gw.log()).isZero();
        } finally {
            gw.close();
        }
        List<String> after = files(app);
        after.remove("gateway.log"); // this test's own capture of the process output
        assertThat(after).as("files written under the image's /app (a read-only root filesystem)").isEqualTo(before);
        assertThat(files(data)).as("the embedded database and generated tokens live in /data").isNotEmpty();
    }

    /** Copies the gateway's output into this test's output (kept in target/surefire-reports) before it is deleted. */
    private static void printLog(Path log) {
        try {
            System.out.println("---- " + log + ":\n" + Files.readString(log));
        } catch (java.io.IOException | RuntimeException e) {
            System.out.println("---- no gateway log: " + e);
        }
    }

    /** Only what a container has: PATH and HOME; nothing from this test JVM's environment leaks in. */
    private static Map<String, String> env() {
        return Map.of("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"), "HOME", System.getProperty("java.io.tmpdir"));
    }

    /** The ENV instruction of the runtime stage: {@code K="v" \ K2=v2} (continued lines joined). */
    static Map<String, String> imageEnv(String stage) {
        Map<String, String> env = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^ENV\\s+((?:.*\\\\\\n)*.*)$").matcher(stage);
        while (m.find()) {
            Matcher kv = Pattern.compile("([A-Z_][A-Z0-9_]*)=(\"[^\"]*\"|\\S+)").matcher(m.group(1).replace("\\\n", " "));
            while (kv.find()) {
                String v = kv.group(2);
                env.put(kv.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
            }
        }
        return env;
    }

    private static List<String> entrypoint(String stage) {
        return json(stage, "ENTRYPOINT");
    }

    private static List<String> json(String stage, String instruction) {
        JsonArray a = new JsonArray(match(stage, "(?m)^" + instruction + "\\s+(\\[.*\\])\\s*$"));
        List<String> out = new ArrayList<>();
        a.forEach(o -> out.add((String) o));
        return out;
    }

    private static String match(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertThat(m.find()).as(regex).isTrue();
        return m.group(1);
    }

    private static List<String> files(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return new ArrayList<>(s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList());
        }
    }
}
