package dev.roverlogout;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import dev.roverlogout.sim.EpicSimulator;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code epic-sim}: the Epic Interconnect simulator as a process (for demos and load tests). */
@Command(name = "epic-sim", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Run the Epic Interconnect simulator (OAuth token endpoint + DisassociateMobileDevice).")
final class EpicSimCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "simulator YAML (default: conf/epic-sim.yaml if present)")
    Path config;

    @Option(names = "--port", description = "listen port (overrides the file; 0 = any free port)")
    Integer port;

    @Option(names = "--host", description = "listen address (overrides the file)")
    String host;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        JsonObject settings;
        try {
            settings = read();
        } catch (IllegalArgumentException | IOException e) {
            spec.commandLine().getErr().println("rover-logout-gateway epic-sim: configuration error: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        Vertx vertx = Vertx.vertx();
        EpicSimulator sim = new EpicSimulator(host != null ? host : settings.getString("host", "127.0.0.1"),
                port != null ? port : settings.getInteger("port", 9090), settings.getJsonArray("instances", new JsonArray()));
        try {
            Main.join(vertx.deployVerticle(sim), 60_000);
        } catch (Exception e) {
            spec.commandLine().getErr().println("rover-logout-gateway epic-sim: cannot start: " + e.getMessage());
            Main.join(vertx.close(), 10_000);
            return Main.EXIT_RUNTIME;
        }
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Main.join(vertx.close(), 10_000);
            } catch (Exception ignored) {
                // exiting anyway
            } finally {
                stopped.complete(null);
            }
        }, "epic-sim-shutdown"));
        stopped.join();
        return Main.EXIT_OK;
    }

    private JsonObject read() throws IOException {
        Path file = config != null ? config : Path.of("conf", "epic-sim.yaml");
        if (!Files.exists(file)) {
            if (config != null) {
                throw new IllegalArgumentException("--config: file " + file + " does not exist");
            }
            return new JsonObject();
        }
        try (Reader in = Files.newBufferedReader(file)) {
            Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
            if (root != null && !(root instanceof Map<?, ?>)) {
                throw new IllegalArgumentException(file + " must hold a mapping");
            }
            @SuppressWarnings("unchecked")
            JsonObject o = root == null ? new JsonObject() : new JsonObject((Map<String, Object>) root);
            for (Object i : o.getJsonArray("instances", new JsonArray())) {
                if (!(i instanceof JsonObject instance) || instance.getString("name") == null) {
                    throw new IllegalArgumentException("instances: every instance needs a name");
                }
            }
            return o;
        } catch (ClassCastException | org.yaml.snakeyaml.error.YAMLException e) {
            throw new IllegalArgumentException(file + " is not a valid simulator file: " + e.getMessage());
        }
    }
}
