package dev.roverlogout.sim;

import java.util.Map;
import java.util.function.Consumer;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The simulator's own control API under {@code /_sim}: instances created and reconfigured at runtime (faults,
 * keys, client ids), their statistics and per-device calls, counters reset, tokens revoked. Not part of Epic.
 */
final class ControlRoutes {
    private final Map<String, SimInstance> instances;
    private final Consumer<String> settingsChanged;

    /** @param settingsChanged told the name of an instance whose settings changed (cached keys must go) */
    ControlRoutes(Map<String, SimInstance> instances, Consumer<String> settingsChanged) {
        this.instances = instances;
        this.settingsChanged = settingsChanged;
    }

    void mount(Router router) {
        // ?devices=false leaves out calls per device (one entry per device: large after a big run)
        router.get("/_sim/stats").handler(ctx -> EpicSimulator.json(ctx, 200, stats(!"false".equals(ctx.queryParams().get("devices")))));
        router.get("/_sim/instances").handler(ctx -> EpicSimulator.json(ctx, 200, stats(true)));
        router.put("/_sim/instances/:name").handler(this::configure);
        router.patch("/_sim/instances/:name").handler(this::configure);
        router.post("/_sim/reset").handler(this::reset);
        router.get("/_sim/instances/:name/calls").handler(this::calls);
        router.post("/_sim/instances/:name/revoke-tokens").handler(this::revokeTokens);
    }

    /** Creates the instance named in {@code settings} or applies the settings present to the existing one. */
    SimInstance upsert(JsonObject settings) {
        SimInstance i = instances.computeIfAbsent(settings.getString("name"), SimInstance::new);
        i.configure(settings);
        settingsChanged.accept(i.name);
        return i;
    }

    private void configure(RoutingContext ctx) {
        JsonObject body = ctx.body().asJsonObject();
        if (body == null) {
            EpicSimulator.json(ctx, 400, new JsonObject().put("error", "send a JSON object of settings"));
            return;
        }
        EpicSimulator.json(ctx, 200, upsert(body.copy().put("name", ctx.pathParam("name"))).settings());
    }

    /** Every instance starts over with the same settings: no tokens, no calls, no counters. */
    private void reset(RoutingContext ctx) {
        instances.replaceAll((name, old) -> new SimInstance(name).tap(n -> n.configure(old.settings())));
        EpicSimulator.json(ctx, 200, stats(true));
    }

    private void calls(RoutingContext ctx) {
        SimInstance i = instances.get(ctx.pathParam("name"));
        EpicSimulator.json(ctx, i == null ? 404 : 200, i == null ? new JsonObject().put("error", "no such instance") : i.calls());
    }

    private void revokeTokens(RoutingContext ctx) {
        SimInstance i = instances.get(ctx.pathParam("name"));
        if (i != null) {
            i.tokens.clear();
        }
        EpicSimulator.json(ctx, i == null ? 404 : 200, new JsonObject().put("revoked", i != null));
    }

    private JsonObject stats(boolean withDevices) {
        JsonObject all = new JsonObject();
        instances.forEach((name, i) -> all.put(name, i.stats(withDevices)));
        return new JsonObject().put("instances", all);
    }
}
