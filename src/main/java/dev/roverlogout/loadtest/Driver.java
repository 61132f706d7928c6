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
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

/**
 * Drives a running gateway with a scenario (issue 5) and counts the outcome as Epic (the simulator) saw it.
 *
 * <p>Phases: set up one environment per scenario environment (admin API) and one simulator instance each; send the
 * schedule open-loop (each request leaves at its due time whatever the answers; latency is measured from the due
 * time, so a stall shows as latency — no coordinated omission; arrivals beyond {@code maxInFlight} outstanding
 * requests are dropped and counted); wait for the gateway to drain; read the simulator's per-device call times
 * and account per environment: lost, duplicates, calls after a check-out, the busiest sliding second against
 * the limit, mean rate, drain time against theory, end-to-end latency. All bookkeeping runs on one Vert.x
 * context; the caller's thread only waits.
 */
public final class Driver {
    /** Where the gateway and the simulator are, and the gateway's tokens. */
    public record Endpoints(String publicUrl, String managementUrl, String simUrl, String adminToken, String ingestToken) {
    }

    private static final long HIGHEST_MICROS = TimeUnit.SECONDS.toMicros(120);

    private final Scenario s;
    private final Endpoints ep;
    private final PrintStream out;
    private final Vertx vertx;
    private final WebClient http;
    private final String runTag;
    private final String[] envIds;
    private final Schedule schedule;

    // sending state (confined to the driver's context)
    private final Histogram ack = new Histogram(HIGHEST_MICROS, 3);
    private final List<Second> seconds = new ArrayList<>();
    private final Map<String, Long> checkOutAckedAt = new HashMap<>();
    private final java.util.Set<String> checkInAccepted = new java.util.HashSet<>();
    /** Devices whose check-out got no 202 (error or no answer): it may still have been stored, so no call is due. */
    private final java.util.Set<String> checkOutUnanswered = new java.util.HashSet<>();
    private long startNanos;
    private long startEpochMillis;
    private long sendingEndedEpochMillis;
    private int next;
    private int inFlight;
    private long sent;
    private long ok;
    private long errors;
    private long dropped;
    private long droppedDevices;
    private long resent;
    private long resentConfirmed;
    private long invalidSent;
    private long invalidRefused;
    private long unexpected;
    private final List<String> unexpectedSamples = new ArrayList<>();

    /** Per-second series. */
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
        this.http = WebClient.create(vertx, new WebClientOptions().setKeepAlive(true).setConnectTimeout(5000).setIdleTimeout(60),
                new io.vertx.core.http.PoolOptions().setHttp1MaxSize(Math.min(512, scenario.maxInFlight())));
        this.runTag = Long.toString(System.currentTimeMillis() / 1000 % 10_000_000, 36);
        this.envIds = new String[scenario.environments().count()];
        for (int k = 0; k < envIds.length; k++) {
            envIds[k] = ("lt-" + scenario.name() + "-" + runTag + "-" + k);
            if (envIds[k].length() > 64) {
                envIds[k] = "lt-" + runTag + "-" + k;
            }
        }
        this.schedule = Schedule.of(scenario, runTag);
    }

    /** Runs the scenario; the report (see {@link Report}). Blocking: call from a plain thread. */
    public JsonObject run() throws Exception {
        try {
            setUp();
            Context ctx = vertx.getOrCreateContext();
            CompletableFuture<Void> sendingDone = new CompletableFuture<>();
            ctx.runOnContext(v -> startSending(sendingDone));
            sendingDone.get(Math.round(s.seconds() * 1000) + 600_000, TimeUnit.MILLISECONDS);
            out.printf("sending done: %d requests sent, %d dropped, %d errors; waiting for Epic calls (at most %.0f s)%n",
                    sent, dropped, errors, s.drainTimeoutSeconds());
            JsonObject drain = drain();
            return account(drain);
        } finally {
            disableEnvironments();
            join(vertx.close());
        }
    }

    private void setUp() throws Exception {
        JsonObject simStats = getJson(ep.simUrl() + "/_sim/stats?devices=false", null);
        if (!simStats.containsKey("instances")) {
            throw new IllegalStateException("the simulator at " + ep.simUrl() + " did not answer /_sim/stats");
        }
        Scenario.Environments e = s.environments();
        for (String id : envIds) {
            send(HttpMethod.POST, ep.managementUrl() + "/admin/environments", ep.adminToken(), new JsonObject()
                    .put("id", id).put("displayName", "loadtest " + s.name()).put("interconnectUrl", ep.simUrl())
                    .put("instance", id).put("clientId", "client-" + id).put("allowInsecure", true)
                    .put("rateLimitPerSecond", e.rateLimitPerSecond()).put("burst", e.burst()).put("maxConcurrency", e.maxConcurrency()),
                    201, "create environment " + id);
            // the simulator fetches the gateway's JWKS from the public URL the driver uses (publicBaseUrl may name a
            // host the simulator cannot reach)
            send(HttpMethod.PATCH, ep.simUrl() + "/_sim/instances/" + id, null, new JsonObject().put("clientId", "client-" + id)
                    .put("jwksUrl", ep.publicUrl() + "/jwks/" + id + ".json").put("rateLimitPerSecond", Math.max(0, s.simLimit()))
                    .put("latencyMillis", s.epic().latencyMillis()).put("errorRate", s.epic().errorRate())
                    .put("tailRate", s.epic().tailRate()).put("tailLatencyMillis", s.epic().tailLatencyMillis()), 200,
                    "configure simulator instance " + id);
            JsonObject test = send(HttpMethod.POST, ep.managementUrl() + "/admin/environments/" + id + "/test-connection",
                    ep.adminToken(), null, 200, "test connection of " + id).bodyAsJsonObject();
            if (!test.getBoolean("ok", false)) { // the calls would never come: say why now, not after the drain timeout
                throw new IllegalStateException("environment " + id + " cannot reach the simulator: " + test.encode());
            }
            send(HttpMethod.POST, ep.managementUrl() + "/admin/environments/" + id + "/activate", ep.adminToken(), null, 200,
                    "activate " + id);
        }
        out.printf("scenario %s: %d devices over %.0f s (%s), %d environments (skew %.1f, %.0f/s burst %d each), "
                        + "batch %d, %d requests%n", s.name(), s.devices(), s.seconds(), s.profile().type(), envIds.length,
                e.skew(), e.rateLimitPerSecond(), e.burst(), s.batchSize(), schedule.requests.size());
    }

    private void startSending(CompletableFuture<Void> done) {
        startNanos = System.nanoTime();
        startEpochMillis = System.currentTimeMillis();
        vertx.setPeriodic(1, id -> {
            long elapsedMillis = (System.nanoTime() - startNanos) / 1_000_000;
            while (next < schedule.requests.size() && schedule.requests.get(next).atMillis() <= elapsedMillis) {
                send(next++);
            }
            if (next == schedule.requests.size() && inFlight == 0) {
                vertx.cancelTimer(id);
                sendingEndedEpochMillis = System.currentTimeMillis();
                done.complete(null);
            }
        });
        if (s.epic().outageSeconds() > 0) {
            vertx.setTimer(Math.max(1, Math.round(s.epic().outageAtSeconds() * 1000)), t -> {
                for (String id : envIds) {
                    http.requestAbs(HttpMethod.PATCH, ep.simUrl() + "/_sim/instances/" + id)
                            .sendJsonObject(new JsonObject().put("outageSeconds", s.epic().outageSeconds()));
                }
                out.printf("Epic outage injected for %.0f s%n", s.epic().outageSeconds());
            });
        }
        vertx.setPeriodic(1000, id -> {
            sample();
            if (done.isDone()) {
                vertx.cancelTimer(id);
            }
        });
    }

    private Second second(long elapsedMillis) {
        int i = (int) Math.max(0, elapsedMillis / 1000);
        while (seconds.size() <= i) {
            seconds.add(new Second());
        }
        return seconds.get(i);
    }

    private void send(int index) {
        Schedule.Request r = schedule.requests.get(index);
        Second due = second(r.atMillis());
        due.offered++;
        if (inFlight >= s.maxInFlight()) {
            dropped++;
            due.dropped++;
            droppedDevices += r.devices().size();
            return;
        }
        JsonObject body = Schedule.body(r, startEpochMillis, envIds, runTag, index);
        if (r.kind() == Schedule.Kind.INVALID) {
            invalidSent++;
        }
        post(r, body, false);
    }

    private void post(Schedule.Request r, JsonObject body, boolean isResend) {
        inFlight++;
        sent++;
        second(elapsedMillis()).sent++;
        long dueNanos = startNanos + r.atMillis() * 1_000_000;
        http.postAbs(ep.publicUrl() + "/v1/checkins").bearerTokenAuthentication(ep.ingestToken()).timeout(30_000)
                .sendJsonObject(body).onComplete(ar -> {
                    inFlight--;
                    long now = System.nanoTime();
                    if (!isResend) {
                        long micros = Math.max(0, (now - dueNanos) / 1000);
                        ack.recordValue(Math.min(micros, HIGHEST_MICROS));
                        second(r.atMillis()).ack.recordValue(Math.min(micros, HIGHEST_MICROS));
                    }
                    Second at = second(elapsedMillis());
                    int status = ar.succeeded() ? ar.result().statusCode() : 0;
                    if (r.kind() == Schedule.Kind.INVALID) {
                        if (status == 400) {
                            invalidRefused++;
                            at.ok++;
                        } else {
                            unexpected("invalid event answered " + status, ar);
                        }
                        return;
                    }
                    if (status != 202) {
                        errors++;
                        at.errors++;
                        if (r.kind() == Schedule.Kind.CHECK_OUT && !isResend) {
                            r.devices().forEach(d -> checkOutUnanswered.add(d.id()));
                        }
                        if (errors <= 5) {
                            out.printf("request answered %s%n", ar.succeeded() ? status + " " + ar.result().bodyAsString()
                                    : ar.cause().toString());
                        }
                        return;
                    }
                    ok++;
                    at.ok++;
                    JsonArray results = ar.result().bodyAsJsonObject().getJsonArray("results", new JsonArray());
                    if (isResend) {
                        boolean allDuplicate = results.stream().allMatch(o -> "duplicate".equals(((JsonObject) o).getString("status")));
                        if (allDuplicate) {
                            resentConfirmed++;
                        } else {
                            unexpected("a re-sent request was not all duplicates: " + ar.result().bodyAsString(), ar);
                        }
                        return;
                    }
                    long ackEpoch = System.currentTimeMillis();
                    for (Schedule.Device d : r.devices()) {
                        if (r.kind() == Schedule.Kind.CHECK_IN) {
                            checkInAccepted.add(d.id());
                        } else {
                            checkOutAckedAt.put(d.id(), ackEpoch);
                        }
                    }
                    if (r.resend()) {
                        resent++;
                        post(r, body, true);
                    }
                });
    }

    private void unexpected(String what, io.vertx.core.AsyncResult<HttpResponse<Buffer>> ar) {
        unexpected++;
        if (unexpectedSamples.size() < 5) {
            unexpectedSamples.add(what + (ar.failed() ? " (" + ar.cause() + ")" : ""));
        }
    }

    private long elapsedMillis() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** Once a second: queue depth and Epic calls from the gateway's /metrics, and a progress line. */
    private void sample() {
        long elapsed = elapsedMillis();
        Second now = second(elapsed);
        Second last = seconds.size() > 1 ? seconds.get(Math.max(0, (int) (elapsed / 1000) - 1)) : now;
        http.getAbs(ep.managementUrl() + "/metrics").timeout(5000).send().onSuccess(r -> {
            long[] m = metrics(r.bodyAsString());
            now.queueDepth = m[0];
            now.disassociationsDone = m[1];
            long total = s.seconds() > 0 ? Math.round(s.seconds()) : 0;
            out.printf("[%4ds/%ds] offered %5d/s sent %5d/s ok %5d err %d dropped %d ack p99 %6.1f ms | queue %6d | "
                            + "Epic done %7d | sending ends in %ds%n", elapsed / 1000, total, last.offered, last.sent, ok,
                    errors, dropped, last.ack.getValueAtPercentile(99) / 1000.0, m[0], m[1],
                    Math.max(0, total - elapsed / 1000));
        });
    }

    /** Sum over this run's environments of rlg_queue_depth and rlg_disassociations_total{outcome=done}. */
    private long[] metrics(String text) {
        long depth = 0;
        long done = 0;
        String prefix = "environment=\"lt-";
        for (String line : text.split("\n")) {
            if (!line.contains(prefix)) {
                continue;
            }
            boolean ours = false;
            for (String id : envIds) {
                if (line.contains("environment=\"" + id + "\"")) {
                    ours = true;
                    break;
                }
            }
            if (!ours) {
                continue;
            }
            double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            if (line.startsWith("rlg_queue_depth{")) {
                depth += (long) v;
            } else if (line.startsWith("rlg_disassociations_total{") && line.contains("outcome=\"done\"")) {
                done += (long) v;
            }
        }
        return new long[] {depth, done};
    }

    /**
     * Waits until every device due a call was called and no job of the run is queued or in flight, or nothing
     * moves, or the timeout.
     */
    private JsonObject drain() throws Exception {
        long expected = checkInAccepted.stream()
                .filter(id -> !checkOutAckedAt.containsKey(id) && !checkOutUnanswered.contains(id)).count();
        long deadline = System.nanoTime() + Math.round(s.drainTimeoutSeconds() * 1e9);
        long lastCalled = -1;
        long stillSince = System.nanoTime();
        long lastPrinted = 0;
        long called = 0;
        long depth = -1;
        while (System.nanoTime() < deadline) {
            JsonObject stats = getJson(ep.simUrl() + "/_sim/stats?devices=false", null).getJsonObject("instances");
            called = 0;
            for (String id : envIds) {
                called += stats.getJsonObject(id, new JsonObject()).getLong("devices", 0L);
            }
            depth = open();
            if (called != lastCalled) {
                long now = System.nanoTime();
                if (lastCalled >= 0 && now - lastPrinted > 2_000_000_000L) {
                    double rate = (called - lastCalled) / ((now - stillSince) / 1e9);
                    out.printf("drain: %d of %d devices called, %d jobs open, %.0f calls/s, ETA %.0f s%n", called, expected,
                            depth, rate, rate > 0 ? Math.max(0, expected - called) / rate : Double.NaN);
                    lastPrinted = now;
                }
                lastCalled = called;
                stillSince = now;
            }
            if (called >= expected && depth == 0) {
                break;
            }
            if (depth == 0 && System.nanoTime() - stillSince > 5_000_000_000L) {
                break; // nothing queued or in flight and no new calls for 5 s: what is missing will not come
            }
            Thread.sleep(called >= expected * 0.95 ? 100 : 1000);
        }
        long drainedAt = System.currentTimeMillis();
        out.printf("drain: %d of %d devices due a call were called, %d jobs open, %.1f s after the last request%n",
                called, expected, depth, (drainedAt - sendingEndedEpochMillis) / 1000.0);
        return new JsonObject().put("expectedCalls", expected).put("called", called).put("openJobs", depth)
                .put("drainedAtEpochMillis", drainedAt).put("timedOut", System.nanoTime() >= deadline);
    }

    /** Jobs of this run's environments still queued or being sent (GET /admin/queue). */
    private long open() throws Exception {
        long n = 0;
        java.util.Set<String> ours = java.util.Set.of(envIds);
        for (Object o : getJson(ep.managementUrl() + "/admin/queue", ep.adminToken()).getJsonArray("environments")) {
            JsonObject e = (JsonObject) o;
            if (ours.contains(e.getString("environmentId"))) {
                n += e.getLong("queued") + e.getLong("inFlight");
            }
        }
        return n;
    }

    private JsonObject account(JsonObject drain) throws Exception {
        JsonObject stats = getJson(ep.simUrl() + "/_sim/stats?devices=false", null).getJsonObject("instances");
        Map<Integer, List<Schedule.Device>> byEnv = new HashMap<>();
        schedule.devices.forEach(d -> byEnv.computeIfAbsent(d.environment(), k -> new ArrayList<>()).add(d));
        Accounting accounting = new Accounting(s, startEpochMillis, checkInAccepted, checkOutAckedAt, checkOutUnanswered);
        JsonArray perEnv = new JsonArray();
        for (int k = 0; k < envIds.length; k++) {
            JsonObject calls = getJson(ep.simUrl() + "/_sim/instances/" + envIds[k] + "/calls", null);
            perEnv.add(accounting.environment(envIds[k], schedule.environmentWeights[k], byEnv.getOrDefault(k, List.of()),
                    calls, stats.getJsonObject(envIds[k], new JsonObject())));
        }
        return Report.build(s, this, drain, perEnv, accounting.e2eAll());
    }

    private void disableEnvironments() {
        for (String id : envIds) {
            try {
                join(http.postAbs(ep.managementUrl() + "/admin/environments/" + id + "/disable")
                        .bearerTokenAuthentication(ep.adminToken()).send());
            } catch (Exception e) {
                // best effort: the run is over
            }
        }
    }

    // ---- what Report reads

    Histogram ackHistogram() {
        return ack;
    }

    List<Second> seconds() {
        return seconds;
    }

    JsonObject counts() {
        return new JsonObject().put("requestsScheduled", schedule.requests.size()).put("requestsSent", sent)
                .put("requestsOk", ok).put("errors", errors).put("droppedArrivals", dropped)
                .put("droppedDevices", droppedDevices).put("duplicateResends", resent)
                .put("duplicateResendsConfirmed", resentConfirmed).put("invalidSent", invalidSent)
                .put("invalidRefused", invalidRefused).put("unexpectedAnswers", unexpected)
                .put("unexpectedSamples", new JsonArray(new ArrayList<>(unexpectedSamples)))
                .put("checkInsAccepted", checkInAccepted.size()).put("checkOutsAccepted", checkOutAckedAt.size())
                .put("startEpochMillis", startEpochMillis).put("sendingEndedEpochMillis", sendingEndedEpochMillis)
                .put("environments", new JsonArray(List.of((Object[]) envIds)));
    }

    // ---- blocking HTTP helpers for set-up and accounting (never on the driver's context)

    private HttpResponse<Buffer> send(HttpMethod method, String url, String token, JsonObject body, int expected,
                                      String what) throws Exception {
        var req = http.requestAbs(method, url).timeout(30_000);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        HttpResponse<Buffer> r = join(body == null ? req.send() : req.sendJsonObject(body));
        if (r.statusCode() != expected) {
            throw new IllegalStateException(what + ": HTTP " + r.statusCode() + " " + r.bodyAsString());
        }
        return r;
    }

    private JsonObject getJson(String url, String token) throws Exception {
        var req = http.getAbs(url).timeout(30_000);
        if (token != null) {
            req.bearerTokenAuthentication(token);
        }
        HttpResponse<Buffer> r = join(req.send());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + url + ": HTTP " + r.statusCode());
        }
        return r.bodyAsJsonObject();
    }

    private static <T> T join(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
}
