package dev.roverlogout.loadtest;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.HdrHistogram.Histogram;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

/**
 * Drives a running gateway with a scenario (issue 5) and counts the outcome as Epic (the simulator) saw it.
 *
 * <p>Phases, each in its own class: set up one environment per scenario environment (admin API) and one simulator
 * instance each ({@link RunEnvironments}); send the schedule open-loop ({@link OpenLoopSender}, booked in
 * {@link SendBooks}: each request leaves at its due time whatever the answers; latency is measured from the due
 * time, so a stall shows as latency — no coordinated omission; arrivals beyond {@code maxInFlight} outstanding
 * requests are dropped and counted); wait for the gateway to drain ({@link DrainWait}); read the simulator's
 * per-device call times and account per environment ({@link Accounting}): lost, duplicates, calls after a
 * check-out, the busiest sliding second against the limit, mean rate, drain time against theory, end-to-end
 * latency. All bookkeeping runs on one Vert.x context; the caller's thread only waits.
 */
public final class Driver {
    /** Where the gateway and the simulator are, and the gateway's tokens. */
    public record Endpoints(String publicUrl, String managementUrl, String simUrl, String adminToken, String ingestToken) {
    }

    static final long HIGHEST_MICROS = TimeUnit.SECONDS.toMicros(120);

    private final Scenario s;
    private final Endpoints ep;
    private final PrintStream out;
    private final Vertx vertx;
    private final BlockingHttp http;
    private final String[] envIds;
    private final Schedule schedule;
    private final RunEnvironments environments;
    private final SendBooks books;
    private final OpenLoopSender sender;

    /** Per-second series (here because {@link Report} reads it as {@code Driver.Second}). */
    static final class Second {
        long offered;
        long sent;
        long ok;
        long errors;
        long dropped;
        final Histogram ack = new Histogram(HIGHEST_MICROS, 3);
        long queueDepth = -1;
        long disassociationsDone = -1;
    }

    public Driver(Scenario scenario, Endpoints endpoints, PrintStream progress) {
        this.s = scenario;
        this.ep = endpoints;
        this.out = progress;
        this.vertx = Vertx.vertx();
        WebClient web = WebClient.create(vertx, new WebClientOptions().setKeepAlive(true).setConnectTimeout(5000).setIdleTimeout(60),
                new PoolOptions().setHttp1MaxSize(Math.min(512, scenario.maxInFlight())));
        String runTag = Long.toString(System.currentTimeMillis() / 1000 % 10_000_000, 36);
        this.envIds = environmentIds(scenario, runTag);
        this.schedule = Schedule.of(scenario, runTag);
        this.http = new BlockingHttp(web);
        this.environments = new RunEnvironments(scenario, endpoints, envIds, web, http, progress);
        this.books = new SendBooks(scenario, schedule, envIds, progress);
        this.sender = new OpenLoopSender(vertx, web, scenario, endpoints, schedule, envIds, runTag, books,
                new ProgressSampler(web, scenario, endpoints, envIds, progress));
    }

    private static String[] environmentIds(Scenario scenario, String runTag) {
        String[] ids = new String[scenario.environments().count()];
        for (int k = 0; k < ids.length; k++) {
            ids[k] = ("lt-" + scenario.name() + "-" + runTag + "-" + k);
            if (ids[k].length() > 64) {
                ids[k] = "lt-" + runTag + "-" + k;
            }
        }
        return ids;
    }

    /** Runs the scenario; the report (see {@link Report}). Blocking: call from a plain thread. */
    public JsonObject run() throws Exception {
        try {
            environments.setUp(schedule.requests.size());
            Context ctx = vertx.getOrCreateContext();
            CompletableFuture<Void> sendingDone = new CompletableFuture<>();
            ctx.runOnContext(v -> {
                sender.start(sendingDone);
                environments.scheduleOutage(vertx);
            });
            sendingDone.get(Math.round(s.seconds() * 1000) + 600_000, TimeUnit.MILLISECONDS);
            out.printf("sending done: %d requests sent, %d dropped, %d errors; waiting for Epic calls (at most %.0f s)%n",
                    books.sent(), books.dropped(), books.errors(), s.drainTimeoutSeconds());
            JsonObject drain = new DrainWait(s, ep, envIds, http, out)
                    .await(books.devicesDueACall(), books.sendingEndedEpochMillis());
            return account(drain);
        } finally {
            environments.disable();
            BlockingHttp.join(vertx.close());
        }
    }

    /** Reads what the simulator saw per environment and holds it against the sender's books. */
    private JsonObject account(JsonObject drain) throws Exception {
        JsonObject stats = http.getJson(ep.simUrl() + "/_sim/stats?devices=false", null).getJsonObject("instances");
        Map<Integer, List<Schedule.Device>> byEnv = new HashMap<>();
        schedule.devices.forEach(d -> byEnv.computeIfAbsent(d.environment(), k -> new ArrayList<>()).add(d));
        Accounting accounting = books.accounting();
        JsonArray perEnv = new JsonArray();
        for (int k = 0; k < envIds.length; k++) {
            JsonObject calls = http.getJson(ep.simUrl() + "/_sim/instances/" + envIds[k] + "/calls", null);
            perEnv.add(accounting.environment(envIds[k], schedule.environmentWeights[k], byEnv.getOrDefault(k, List.of()),
                    calls, stats.getJsonObject(envIds[k], new JsonObject())));
        }
        return Report.build(s, this, drain, perEnv, accounting.e2eAll());
    }

    // ---- what Report reads

    Histogram ackHistogram() {
        return books.ackHistogram();
    }

    List<Second> seconds() {
        return books.seconds();
    }

    JsonObject counts() {
        return books.counts();
    }
}
