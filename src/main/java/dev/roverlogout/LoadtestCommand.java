package dev.roverlogout;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;

import dev.roverlogout.loadtest.Baseline;
import dev.roverlogout.loadtest.Driver;
import dev.roverlogout.loadtest.Report;
import dev.roverlogout.loadtest.Scenario;
import io.vertx.core.json.JsonObject;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code loadtest}: drives a running gateway and simulator with a scenario and writes report.json and report.html.
 * Exit 0 when every pass criterion holds, 1 when one fails (or the run breaks), 2 for bad usage.
 * {@code loadtest/run.sh} starts the simulator and a gateway around it.
 */
@Command(name = "loadtest", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Shift-change load driver: open-model check-ins against a running gateway, end-to-end accounting",
                "at the Epic simulator (lost, duplicates, calls after check-out, rate), report.json + report.html.",
                "Usually run through loadtest/run.sh SCENARIO, which starts the simulator and a gateway."})
final class LoadtestCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "SCENARIO",
            description = "scenario file, or a name in loadtest/scenarios/ (smoke, shift-change, ...)")
    String scenario;

    @Option(names = "--baseline", paramLabel = "pg", description = "measure the bare database only (100-row insert "
            + "transactions, rows generated server-side) and exit; needs --database")
    String baseline;

    @Option(names = "--database", paramLabel = "URL", description = "the gateway's PostgreSQL (postgresql://...): with a "
            + "SCENARIO, its bare insert rate is measured first and the report states the ingest as a ratio of it")
    String database;

    @Option(names = "--baseline-seconds", defaultValue = "10", description = "how long the baseline runs (default: ${DEFAULT-VALUE})")
    double baselineSeconds;

    @Option(names = "--gateway", defaultValue = "http://127.0.0.1:8080", description = "public API (default: ${DEFAULT-VALUE})")
    String gateway;

    @Option(names = "--management", defaultValue = "http://127.0.0.1:8081", description = "management API (default: ${DEFAULT-VALUE})")
    String management;

    @Option(names = "--sim", defaultValue = "http://127.0.0.1:9090", description = "Epic simulator (default: ${DEFAULT-VALUE})")
    String sim;

    @Option(names = "--tokens", defaultValue = "data/tokens.properties", paramLabel = "FILE",
            description = "the gateway's generated token file (default: ${DEFAULT-VALUE}); or set "
                    + "RLG_LOADTEST_ADMINTOKEN and RLG_LOADTEST_INGESTTOKEN")
    Path tokens;

    @Option(names = "--out", paramLabel = "DIR", description = "where report.json and report.html go "
            + "(default: loadtest/results/<timestamp>-<scenario>)")
    Path outDir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (baseline != null) {
            if (!"pg".equals(baseline) || database == null || scenario != null) {
                err.println("rover-logout-gateway loadtest: --baseline pg needs --database URL and no SCENARIO");
                err.flush();
                return Main.EXIT_USAGE;
            }
            try {
                JsonObject b = Baseline.run(database, baselineSeconds, 8);
                System.out.println(b.encodePrettily());
                if (outDir != null) {
                    Files.createDirectories(outDir);
                    Files.writeString(outDir.resolve("baseline.json"), b.encodePrettily());
                }
                return Main.EXIT_OK;
            } catch (Exception e) {
                err.println("rover-logout-gateway loadtest: baseline failed: " + e);
                err.flush();
                return Main.EXIT_RUNTIME;
            }
        }
        if (scenario == null) {
            err.println("rover-logout-gateway loadtest: SCENARIO is required (or --baseline pg)");
            err.flush();
            return Main.EXIT_USAGE;
        }
        Scenario s;
        Driver.Endpoints endpoints;
        try {
            Path file = Path.of(scenario);
            if (!Files.exists(file)) {
                file = Path.of("loadtest", "scenarios", scenario + ".yaml");
            }
            if (!Files.exists(file)) {
                throw new IllegalArgumentException("SCENARIO: no file " + scenario + " and no loadtest/scenarios/" + scenario + ".yaml");
            }
            s = Scenario.load(file);
            endpoints = new Driver.Endpoints(strip(gateway), strip(management), strip(sim),
                    token("admin", "RLG_LOADTEST_ADMINTOKEN"), token("ingest", "RLG_LOADTEST_INGESTTOKEN"));
        } catch (IllegalArgumentException | IOException e) {
            err.println("rover-logout-gateway loadtest: " + e.getMessage());
            err.flush();
            return Main.EXIT_USAGE;
        }
        Path dir = outDir != null ? outDir : Path.of("loadtest", "results", java.time.LocalDateTime.now()
                .format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-" + s.name());
        try {
            JsonObject base = null;
            if (database != null) {
                System.out.printf("baseline: bare PostgreSQL, 100-row insert transactions for %.0f s%n", baselineSeconds);
                base = Baseline.run(database, baselineSeconds, 8);
                System.out.printf("baseline: %.0f rows/s%n", base.getDouble("rowsPerSecond"));
            }
            JsonObject report = run(s, endpoints, dir, base);
            boolean passed = report.getJsonObject("pass").getBoolean("passed");
            System.out.println((passed ? "PASSED" : "FAILED") + ": " + summary(report) + "; report in " + dir.toAbsolutePath());
            return passed ? Main.EXIT_OK : Main.EXIT_RUNTIME;
        } catch (Exception e) {
            err.println("rover-logout-gateway loadtest: run failed: " + e);
            err.flush();
            return Main.EXIT_RUNTIME;
        }
    }

    /** Runs a scenario and writes report.json and report.html into {@code dir}. */
    static JsonObject run(Scenario s, Driver.Endpoints endpoints, Path dir, JsonObject baseline) throws Exception {
        JsonObject report = new Driver(s, endpoints, System.out).run();
        if (baseline != null) {
            JsonObject ingest = report.getJsonObject("ingest");
            double events = (ingest.getLong("checkInsAccepted") + ingest.getLong("checkOutsAccepted")) / ingest.getDouble("sendSeconds");
            report.put("baseline", baseline.put("gatewayEventsPerSecond", events)
                    .put("ratio", events / baseline.getDouble("rowsPerSecond")));
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("report.json"), report.encodePrettily());
        Files.writeString(dir.resolve("report.html"), Report.html(report));
        return report;
    }

    static String summary(JsonObject r) {
        JsonObject epic = r.getJsonObject("epic");
        StringBuilder b = new StringBuilder("lost ").append(epic.getLong("lost")).append(", duplicates ")
                .append(epic.getLong("duplicates")).append(", calls after check-out ").append(epic.getLong("callsAfterCheckOut"))
                .append(", over-limit windows ").append(epic.getLong("overLimitWindows"));
        r.getJsonObject("pass").getJsonArray("checks").forEach(o -> {
            JsonObject c = (JsonObject) o;
            if (!c.getBoolean("ok")) {
                b.append("; ").append(c.getString("criterion")).append(" ").append(c.getValue("measured"))
                        .append(" > ").append(c.getValue("max"));
            }
        });
        return b.toString();
    }

    private String token(String role, String variable) throws IOException {
        String fromEnv = System.getenv(variable);
        if (fromEnv != null && !fromEnv.isEmpty()) {
            return fromEnv;
        }
        if (!Files.exists(tokens)) {
            throw new IllegalArgumentException("--tokens: " + tokens + " does not exist (or set " + variable + ")");
        }
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(tokens)) {
            p.load(in);
        }
        String t = p.getProperty(role);
        if (t == null) {
            throw new IllegalArgumentException("--tokens: " + tokens + " has no " + role + " token (or set " + variable + ")");
        }
        return t;
    }

    private static String strip(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
