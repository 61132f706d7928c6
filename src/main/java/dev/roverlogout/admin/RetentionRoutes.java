package dev.roverlogout.admin;

import dev.roverlogout.config.Durations;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.store.RetentionStore;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;

/**
 * {@code GET /admin/retention}: the retention settings, the last run of the cleaner (whichever replica ran it: when,
 * how long, rows deleted per table, outcome), the run under way if any, and the oldest row of each table.
 * {@code POST /admin/retention/run}: a run now on this replica (after lowering a retention, or a bulk import),
 * answered 202 at once; skipped if another replica's run is under way.
 */
public final class RetentionRoutes implements RouteMount {
    private final RetentionStore store;
    private final GatewayConfig.Retention config;
    private final Runnable runNow;

    /** @param runNow starts a run of this replica's cleaner (and returns at once) */
    private final Audit audit;

    public RetentionRoutes(RetentionStore store, GatewayConfig.Retention config, Runnable runNow, Audit audit) {
        this.audit = audit;
        this.store = store;
        this.config = config;
        this.runNow = runNow;
    }

    /** Mounts on a router whose requests are already authenticated as admin. */
    @Override
    public void mount(Router router) {
        router.get("/admin/retention").respond(ctx -> store.status().map(status -> new JsonObject()
                .put("settings", new JsonObject()
                        .put("finishedJobs", Durations.format(config.finishedJobs()))
                        .put("deviceEvents", Durations.format(config.deviceEvents()))
                        .put("deadLetters", Durations.format(config.deadLetters()))
                        .put("audit", Durations.format(config.audit()))
                        .put("interval", Durations.format(config.interval()))
                        .put("batchSize", config.batchSize()))
                .mergeIn(status)));
        router.post("/admin/retention/run").respond(audit.of("retention.run", ctx -> {
            runNow.run();
            ctx.response().setStatusCode(202);
            return io.vertx.core.Future.succeededFuture(new JsonObject().put("requested", true).put("detail",
                    "a retention run starts now on this replica unless another replica's is under way; "
                            + "GET /admin/retention shows it"));
        }));
    }
}
