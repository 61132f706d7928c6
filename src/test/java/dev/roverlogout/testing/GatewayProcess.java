package dev.roverlogout.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The gateway as its own operating-system process ({@code java dev.roverlogout.Main serve}), on this test JVM's
 * class path: what a crash test needs ({@code kill -9} really kills a JVM, sockets and all) and what shows that the
 * container's entry point and its JVM flags start and stop cleanly. Its output goes to {@code gateway.log} in the
 * work directory, named in every failure.
 */
public final class GatewayProcess implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final int publicPort;
    private final int managementPort;

    private GatewayProcess(Process process, Path log, int publicPort, int managementPort) {
        this.process = process;
        this.log = log;
        this.publicPort = publicPort;
        this.managementPort = managementPort;
    }

    /**
     * Starts {@code java [jvmArgs] -cp <this class path> dev.roverlogout.Main [args]} in {@code workDir} with
     * {@code env} added to this process's environment (RLG_HTTP_PORT / RLG_MANAGEMENT_PORT set to free ports unless
     * given), and waits until {@code /health/ready} answers 200.
     */
    public static GatewayProcess start(Path workDir, Map<String, String> env, List<String> jvmArgs, List<String> args) {
        try {
            Files.createDirectories(workDir);
            Map<String, String> vars = new HashMap<>(env);
            int pub = vars.containsKey("RLG_HTTP_PORT") ? Integer.parseInt(vars.get("RLG_HTTP_PORT")) : freePort();
            int mgmt = vars.containsKey("RLG_MANAGEMENT_PORT") ? Integer.parseInt(vars.get("RLG_MANAGEMENT_PORT")) : freePort();
            vars.put("RLG_HTTP_PORT", String.valueOf(pub));
            vars.put("RLG_MANAGEMENT_PORT", String.valueOf(mgmt));
            vars.putIfAbsent("RLG_EPIC_ALLOWPRIVATENETWORKS", "true"); // the simulator listens on loopback
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(jvmArgs);
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add("dev.roverlogout.Main");
            command.addAll(args);
            Path log = workDir.resolve("gateway.log");
            ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            pb.environment().putAll(vars);
            GatewayProcess gw = new GatewayProcess(pb.start(), log, pub, mgmt);
            gw.awaitReady(Duration.ofSeconds(90));
            return gw;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code serve} with an empty config file and these RLG_* variables, as an operator would run it. */
    public static GatewayProcess serve(Path workDir, Map<String, String> env) {
        try {
            Files.createDirectories(workDir);
            Path config = workDir.resolve("gateway.yaml");
            if (!Files.exists(config)) {
                Files.writeString(config, "{}\n");
            }
            // a gateway killed with SIGKILL cannot delete its temporary files (Vert.x's file cache): keep them in the
            // work directory, which the test deletes, rather than in the shared temp directory
            Path tmp = Files.createDirectories(workDir.resolve("tmp"));
            return start(workDir, env, List.of("-Xmx256m", "-Djava.io.tmpdir=" + tmp),
                    List.of("serve", "--config", config.toString()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void awaitReady(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("gateway exited with " + process.exitValue() + " before it was ready; "
                        + "see " + log);
            }
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort
                        + "/health/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sleep(200);
        }
        close();
        throw new IllegalStateException("gateway not ready within " + limit + "; see " + log);
    }

    public int publicPort() {
        return publicPort;
    }

    public int managementPort() {
        return managementPort;
    }

    public long pid() {
        return process.pid();
    }

    public Path log() {
        return log;
    }

    /** SIGKILL: no shutdown hook, no drain, connections cut as they are. */
    public void kill() {
        process.destroyForcibly();
        waitFor(Duration.ofSeconds(30));
    }

    /** SIGTERM, as Kubernetes stops a pod; returns the exit code, or throws if it did not exit within {@code limit}. */
    public int terminate(Duration limit) {
        process.destroy();
        return waitFor(limit);
    }

    private int waitFor(Duration limit) {
        try {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("gateway did not exit within " + limit + "; see " + log);
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * SIGTERM, then SIGKILL if it has not exited within 15 s. TERM first: on the embedded database the gateway stops
     * its PostgreSQL (a daemon, not a child of this JVM's process tree) only when it stops gracefully.
     */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(15, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(30, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /** Deletes {@code dir} and everything below it, as far as possible (test data directories can be large). */
    public static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
