package dev.roverlogout.loadtest;

import java.io.PrintStream;
import java.util.Set;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * After sending: waits, polling the simulator and the gateway's queue, until every device due a call was called and
 * no job of the run is queued or in flight, or nothing moves, or the scenario's drain timeout. Keeps a reading about
 * once a second, and the last one, for the report's queue chart (the gateway's queue-depth gauge, sampled while
 * sending, lags by its refresh interval). Blocking: runs on the caller's thread.
 */
final class DrainWait {
    private final Scenario s;
    private final Driver.Endpoints ep;
    private final String[] envIds;
    private final BlockingHttp http;
    private final PrintStream out;

    DrainWait(Scenario scenario, Driver.Endpoints endpoints, String[] envIds, BlockingHttp http, PrintStream out) {
        this.s = scenario;
        this.ep = endpoints;
        this.envIds = envIds;
        this.http = http;
        this.out = out;
    }

    /**
     * @param expected               devices due a call (check-in acknowledged, no check-out sent or answered)
     * @param sendingEndedEpochMillis when the last request was answered
     * @return the report's {@code drain} section
     */
    JsonObject await(long expected, long sendingEndedEpochMillis) throws Exception {
        long deadline = System.nanoTime() + Math.round(s.drainTimeoutSeconds() * 1e9);
        long lastCalled = -1;
        long stillSince = System.nanoTime();
        long lastPrinted = 0;
        long called = 0;
        long depth = -1;
        JsonArray samples = new JsonArray();
        while (System.nanoTime() < deadline) {
            called = called();
            depth = open();
            sample(samples, called, depth);
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
        samples.add(new JsonObject().put("atEpochMillis", drainedAt).put("called", called).put("openJobs", depth));
        out.printf("drain: %d of %d devices due a call were called, %d jobs open, %.1f s after the last request%n",
                called, expected, depth, (drainedAt - sendingEndedEpochMillis) / 1000.0);
        return new JsonObject().put("expectedCalls", expected).put("called", called).put("openJobs", depth)
                .put("drainedAtEpochMillis", drainedAt).put("timedOut", System.nanoTime() >= deadline)
                .put("samples", samples);
    }

    /** Adds a reading unless the last one is from the same wall-clock second. */
    private static void sample(JsonArray samples, long called, long depth) {
        long now = System.currentTimeMillis();
        JsonObject last = samples.isEmpty() ? null : samples.getJsonObject(samples.size() - 1);
        if (last == null || last.getLong("atEpochMillis") / 1000 != now / 1000) {
            samples.add(new JsonObject().put("atEpochMillis", now).put("called", called).put("openJobs", depth));
        }
    }

    /** Devices of this run's environments the simulator saw called so far. */
    private long called() throws Exception {
        JsonObject stats = http.getJson(ep.simUrl() + "/_sim/stats?devices=false", null).getJsonObject("instances");
        long called = 0;
        for (String id : envIds) {
            called += stats.getJsonObject(id, new JsonObject()).getLong("devices", 0L);
        }
        return called;
    }

    /** Jobs of this run's environments still queued or being sent (GET /admin/queue). */
    private long open() throws Exception {
        long n = 0;
        Set<String> ours = Set.of(envIds);
        for (Object o : http.getJson(ep.managementUrl() + "/admin/queue", ep.adminToken()).getJsonArray("environments")) {
            JsonObject e = (JsonObject) o;
            if (ours.contains(e.getString("environmentId"))) {
                n += e.getLong("queued") + e.getLong("inFlight");
            }
        }
        return n;
    }
}
