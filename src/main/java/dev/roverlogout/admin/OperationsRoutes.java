package dev.roverlogout.admin;

import java.util.ArrayList;
import java.util.List;

import dev.roverlogout.auth.Principal;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.store.DeadLetterReplay;
import dev.roverlogout.store.EnvironmentStore;
import dev.roverlogout.store.OperationsStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Operations routes (contract §5): {@code GET /admin/queue}, {@code GET /admin/devices/{deviceId}/history},
 * {@code GET /admin/dead-letters}, {@code POST /admin/dead-letters/replay}.
 */
public final class OperationsRoutes implements RouteMount {
    static final int MAX_REPLAY_IDS = 1000;

    private final OperationsStore store;
    private final DeadLetterReplay replays;
    private final EnvironmentStore environments;

    private final Audit audit;
    private final java.util.function.Function<String, java.util.SortedMap<Long, Long>> depthLastHour;
    /** An environment's MDM diagnosis (Diagnoses), empty when all looks right. */
    private final java.util.function.Function<String, java.util.Optional<JsonObject>> diagnosis;

    /** @param depthLastHour an environment's queue depth per epoch minute over the last hour (queue statistics) */
    public OperationsRoutes(OperationsStore store, DeadLetterReplay replays, EnvironmentStore environments, Audit audit,
                            java.util.function.Function<String, java.util.SortedMap<Long, Long>> depthLastHour,
                            java.util.function.Function<String, java.util.Optional<JsonObject>> diagnosis) {
        this.audit = audit;
        this.diagnosis = diagnosis;
        this.depthLastHour = depthLastHour;
        this.store = store;
        this.replays = replays;
        this.environments = environments;
    }

    /** Mounts on a router whose requests are already authenticated as admin and whose bodies are read. */
    @Override
    public void mount(Router router) {
        router.get("/admin/queue").respond(ctx -> {
            String environmentId = environmentParam(ctx);
            return store.queue(environmentId, tenants(ctx)).map(q -> {
                if (environmentId != null && q.getJsonArray("environments").isEmpty()) {
                    throw EnvironmentRoutes.notFound(environmentId);
                }
                q.getJsonArray("environments").forEach(o -> {
                    JsonObject env = (JsonObject) o;
                    diagnosis.apply(env.getString("environmentId")).ifPresent(d -> env.put("diagnosis", d));
                });
                return q;
            });
        });
        router.get("/admin/devices/:deviceId/history").respond(ctx -> {
            String deviceId = ctx.pathParam("deviceId");
            if (deviceId.isEmpty() || deviceId.length() > 200) {
                throw field("deviceId", "must be 1 to 200 characters");
            }
            if (deviceId.indexOf('\u0000') >= 0 || !dev.roverlogout.http.BodyText.wellFormed(deviceId)) {
                throw field("deviceId", "must not contain NUL characters or unpaired surrogates");
            }
            String environmentId = environmentParam(ctx);
            return store.deviceHistory(deviceId, environmentId, QueryParams.limit(ctx), tenants(ctx)).map(h -> {
                if (h.getJsonArray("events").isEmpty()) {
                    throw Problem.notFound("no events of device '" + deviceId + "'"
                            + (environmentId == null ? "" : " in environment '" + environmentId + "'"));
                }
                return h;
            });
        });
        router.get("/admin/dead-letters").respond(ctx -> {
            String environmentId = environmentParam(ctx);
            int limit = QueryParams.limit(ctx);
            Future<Boolean> known = environmentId == null ? Future.succeededFuture(true) : visible(ctx, environmentId);
            return known.compose(k -> k ? store.deadLetters(environmentId, limit, tenants(ctx))
                            .map(a -> new JsonObject().put("deadLetters", a).put("limit", limit))
                    : Future.failedFuture(EnvironmentRoutes.notFound(environmentId)));
        });
        router.post("/admin/dead-letters/replay").respond(audit.of("dead-letters.replay", this::replay));
        router.get("/admin/environments/:id/activity").respond(this::activity);
    }

    /**
     * The last hour of an environment, a minute at a time (oldest first, 60 entries): {@code calls} = its jobs that
     * finished in that minute, {@code queueDepth} = the depth this replica's queue statistics read then (null for
     * minutes before it started). For the console's chart.
     */
    private Future<JsonObject> activity(RoutingContext ctx) {
        String id = EnvironmentRoutes.scoped(ctx).id(); // the scope guard found it and the caller may see it
        return store.finishedPerMinute(id).map(calls -> {
                    java.util.SortedMap<Long, Long> depth = depthLastHour.apply(id);
                    long now = System.currentTimeMillis() / 60_000;
                    JsonArray minutes = new JsonArray();
                    for (long m = now - 59; m <= now; m++) {
                        minutes.add(new JsonObject().put("at", java.time.Instant.ofEpochSecond(m * 60).toString())
                                .put("calls", calls.getOrDefault(m, 0L)).put("queueDepth", depth.get(m)));
                    }
                    return new JsonObject().put("environmentId", id).put("minutes", minutes);
                });
    }

    /** The caller's tenants to filter by; null = every tenant. */
    private static List<String> tenants(RoutingContext ctx) {
        return Principal.of(ctx).tenantFilter().orElse(null);
    }

    /** Whether the environment exists and the caller may see it (another tenant's reads as missing). */
    private Future<Boolean> visible(RoutingContext ctx, String environmentId) {
        Principal who = Principal.of(ctx);
        return environments.get(environmentId).map(e -> e.filter(env -> who.sees(env.tenantId())).isPresent());
    }

    private Future<JsonObject> replay(RoutingContext ctx) {
        JsonObject body = EnvironmentRoutes.jsonBody(ctx, true);
        Object ids = body.getValue("ids");
        Object environmentId = body.getValue("environmentId");
        List<Problem.FieldError> errors = new ArrayList<>();
        BodyFields.unknown(body, java.util.Set.of("ids", "environmentId"), errors);
        if (body.containsKey("ids") && ids == null || body.containsKey("environmentId") && environmentId == null) {
            errors.add(new Problem.FieldError(null, ids == null && body.containsKey("ids") ? "ids" : "environmentId",
                    "must not be null"));
        } else if ((ids == null) == (environmentId == null)) {
            errors.add(new Problem.FieldError(null, "ids", "give exactly one of ids or environmentId"));
        }
        List<Long> jobIds = new ArrayList<>();
        if (ids != null) {
            if (!(ids instanceof JsonArray a) || a.isEmpty() || a.size() > MAX_REPLAY_IDS) {
                errors.add(new Problem.FieldError(null, "ids", "must be an array of 1 to " + MAX_REPLAY_IDS + " job ids"));
            } else {
                for (int i = 0; i < a.size(); i++) {
                    // JSON integers arrive as Integer or Long; a BigInteger (beyond 64 bits) or a fraction is refused
                    // rather than narrowed to some other job's id
                    Object v = a.getValue(i);
                    if ((v instanceof Integer || v instanceof Long) && ((Number) v).longValue() > 0) {
                        jobIds.add(((Number) v).longValue());
                    } else {
                        errors.add(new Problem.FieldError(i, "ids", "must be a positive whole number"));
                    }
                }
            }
        }
        if (environmentId != null && !(environmentId instanceof String s && s.matches("[a-z0-9-]{1,64}"))) {
            errors.add(new Problem.FieldError(null, "environmentId", "must match [a-z0-9-]{1,64}"));
        }
        if (!errors.isEmpty()) {
            throw Problem.validation("the replay request is invalid", errors);
        }
        if (environmentId != null) {
            String id = (String) environmentId;
            return environments.get(id).compose(found -> {
                if (found.isEmpty() || !Principal.of(ctx).sees(found.get().tenantId())) {
                    return Future.failedFuture(EnvironmentRoutes.notFound(id));
                }
                Audit.about(ctx, found.get().tenantId(), "environment/" + id + "/dead-letters");
                return replays.replayEnvironment(id).compose(r -> audited(ctx, r));
            });
        }
        Audit.about(ctx, Principal.of(ctx).onlyTenant().orElse(null), "dead-letters");
        return replays.replay(jobIds, tenants(ctx)).compose(r -> audited(ctx, r));
    }

    /**
     * The answer, and what the audit row says: the jobs replayed and their environments' tenants (the row belongs to
     * that tenant when there is one, so its people see that their dead letters were replayed).
     */
    private Future<JsonObject> audited(RoutingContext ctx, DeadLetterReplay.Replay r) {
        JsonObject json = r.toJson();
        return environments.list().map(all -> {
            java.util.Set<String> tenants = new java.util.TreeSet<>();
            all.stream().filter(e -> r.environments().contains(e.id())).forEach(e -> tenants.add(e.tenantId()));
            if (tenants.size() == 1) {
                Audit.tenant(ctx, tenants.iterator().next());
            }
            Audit.changes(ctx, new JsonObject().put("replayed", json.getJsonArray("replayed").copy())
                    .put("skipped", json.getJsonArray("skipped").size()).put("more", r.more())
                    .put("environments", new JsonArray(new ArrayList<>(new java.util.TreeSet<>(r.environments()))))
                    .put("tenants", new JsonArray(new ArrayList<>(tenants))));
            return json;
        });
    }

    /** The optional {@code environmentId} query parameter, checked for shape. */
    private static String environmentParam(RoutingContext ctx) {
        String id = ctx.queryParams().get("environmentId");
        if (id == null || id.isEmpty()) {
            return null;
        }
        if (!id.matches("[a-z0-9-]{1,64}")) {
            throw field("environmentId", "must match [a-z0-9-]{1,64}");
        }
        return id;
    }

    private static Problem field(String name, String message) {
        return QueryParams.invalid(name, message);
    }
}
