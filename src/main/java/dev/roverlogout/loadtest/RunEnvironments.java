package dev.roverlogout.loadtest;

import java.io.PrintStream;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;

/**
 * The run's environments on the gateway (admin API) and their instances on the simulator ({@code /_sim}): created,
 * configured, tested and activated before sending, an Epic outage injected on the scenario's cue, disabled when the
 * run is over.
 */
final class RunEnvironments {
    private final Scenario s;
    private final Driver.Endpoints ep;
    private final String[] envIds;
    private final WebClient http;
    private final BlockingHttp blocking;
    private final PrintStream out;

    RunEnvironments(Scenario scenario, Driver.Endpoints endpoints, String[] envIds, WebClient http, BlockingHttp blocking,
                    PrintStream out) {
        this.s = scenario;
        this.ep = endpoints;
        this.envIds = envIds;
        this.http = http;
        this.blocking = blocking;
        this.out = out;
    }

    /** Sets up every environment of the run, ready to be called; blocking. */
    void setUp(int requests) throws Exception {
        JsonObject simStats = blocking.getJson(ep.simUrl() + "/_sim/stats?devices=false", null);
        if (!simStats.containsKey("instances")) {
            throw new IllegalStateException("the simulator at " + ep.simUrl() + " did not answer /_sim/stats");
        }
        for (String id : envIds) {
            setUp(id);
        }
        Scenario.Environments e = s.environments();
        out.printf("scenario %s: %d devices over %.0f s (%s), %d environments (skew %.1f, %.0f/s burst %d each), "
                        + "batch %d, %d requests%n", s.name(), s.devices(), s.seconds(), s.profile().type(), envIds.length,
                e.skew(), e.rateLimitPerSecond(), e.burst(), s.batchSize(), requests);
    }

    private void setUp(String id) throws Exception {
        Scenario.Environments e = s.environments();
        blocking.send(HttpMethod.POST, ep.managementUrl() + "/admin/environments", ep.adminToken(), new JsonObject()
                .put("id", id).put("displayName", "loadtest " + s.name()).put("interconnectUrl", ep.simUrl())
                .put("instance", id).put("clientId", "client-" + id).put("allowInsecure", true)
                .put("rateLimitPerSecond", e.rateLimitPerSecond()).put("burst", e.burst()).put("maxConcurrency", e.maxConcurrency()),
                201, "create environment " + id);
        // the simulator fetches the gateway's JWKS from the public URL the driver uses (publicBaseUrl may name a
        // host the simulator cannot reach)
        blocking.send(HttpMethod.PATCH, ep.simUrl() + "/_sim/instances/" + id, null, new JsonObject().put("clientId", "client-" + id)
                .put("jwksUrl", ep.publicUrl() + "/jwks/" + id + ".json").put("rateLimitPerSecond", Math.max(0, s.simLimit()))
                .put("latencyMillis", s.epic().latencyMillis()).put("errorRate", s.epic().errorRate())
                .put("tailRate", s.epic().tailRate()).put("tailLatencyMillis", s.epic().tailLatencyMillis()), 200,
                "configure simulator instance " + id);
        JsonObject test = blocking.send(HttpMethod.POST, ep.managementUrl() + "/admin/environments/" + id + "/test-connection",
                ep.adminToken(), null, 200, "test connection of " + id).bodyAsJsonObject();
        if (!test.getBoolean("ok", false)) { // the calls would never come: say why now, not after the drain timeout
            throw new IllegalStateException("environment " + id + " cannot reach the simulator: " + test.encode());
        }
        blocking.send(HttpMethod.POST, ep.managementUrl() + "/admin/environments/" + id + "/activate", ep.adminToken(), null,
                200, "activate " + id);
    }

    /** If the scenario has an Epic outage, starts it on every instance at its time. Call on the driver's context. */
    void scheduleOutage(Vertx vertx) {
        if (s.epic().outageSeconds() <= 0) {
            return;
        }
        vertx.setTimer(Math.max(1, Math.round(s.epic().outageAtSeconds() * 1000)), t -> {
            for (String id : envIds) {
                http.requestAbs(HttpMethod.PATCH, ep.simUrl() + "/_sim/instances/" + id)
                        .sendJsonObject(new JsonObject().put("outageSeconds", s.epic().outageSeconds()));
            }
            out.printf("Epic outage injected for %.0f s%n", s.epic().outageSeconds());
        });
    }

    /** Disables every environment of the run, as far as the gateway answers; blocking. */
    void disable() {
        for (String id : envIds) {
            try {
                BlockingHttp.join(http.postAbs(ep.managementUrl() + "/admin/environments/" + id + "/disable")
                        .bearerTokenAuthentication(ep.adminToken()).send());
            } catch (Exception e) {
                // best effort: the run is over
            }
        }
    }
}
