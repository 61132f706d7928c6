package dev.roverlogout.admin;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.roverlogout.auth.Principal;
import dev.roverlogout.epic.ConnectionTester;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.http.BodyText;
import dev.roverlogout.http.Problems;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.Environment.Status;
import dev.roverlogout.store.EnvironmentDirectory;
import dev.roverlogout.store.EnvironmentStore;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** {@code /admin/environments} (contract §5): create, read, patch, delete, and status changes. */
public final class EnvironmentRoutes implements RouteMount {
    private final EnvironmentStore store;
    private final EnvironmentDirectory directory;
    private final KeyRoutes keys;
    private final ConnectionTester tester;
    private final String publicBaseUrl;
    private final Audit audit;
    /** An environment's MDM diagnosis (Diagnoses), empty when all looks right. */
    private final java.util.function.Function<String, Optional<JsonObject>> diagnosis;

    public EnvironmentRoutes(EnvironmentStore store, EnvironmentDirectory directory, KeyRoutes keys,
                             ConnectionTester tester, String publicBaseUrl, Audit audit,
                             java.util.function.Function<String, Optional<JsonObject>> diagnosis) {
        this.audit = audit;
        this.diagnosis = diagnosis;
        this.store = store;
        this.directory = directory;
        this.keys = keys;
        this.tester = tester;
        this.publicBaseUrl = publicBaseUrl;
    }

    /** Mounts on a router whose requests are already authenticated as admin and whose bodies are read. */
    @Override
    public void mount(Router router) {
        router.post("/admin/environments").respond(audit.of("environment.create", this::create));
        router.get("/admin/environments").respond(ctx -> {
            String tenant = ctx.queryParams().get("tenantId");
            if (tenant != null && !EnvironmentValidator.ID.matcher(tenant).matches()) {
                throw Problem.validation("tenantId must match [a-z0-9-]{1,64}",
                        java.util.List.of(new Problem.FieldError(null, "tenantId", "must match [a-z0-9-]{1,64}")));
            }
            Principal who = Principal.of(ctx);
            return store.list().map(all -> {
                JsonArray a = new JsonArray();
                all.stream().filter(e -> (tenant == null || e.tenantId().equals(tenant)) && who.sees(e.tenantId()))
                        .forEach(e -> a.add(e.toJson(publicBaseUrl)));
                return new JsonObject().put("environments", a);
            });
        });
        router.get("/admin/environments/:id").respond(this::get);
        router.patch("/admin/environments/:id").respond(audit.of("environment.update", this::patch));
        router.delete("/admin/environments/:id").respond(audit.of("environment.delete", this::delete));
        router.post("/admin/environments/:id/activate").respond(audit.of("environment.activate", ctx ->
                status(ctx, EnumSet.of(Status.PENDING, Status.DISABLED), Status.READY)));
        router.post("/admin/environments/:id/pause").respond(audit.of("environment.pause", ctx ->
                status(ctx, EnumSet.of(Status.READY), Status.PAUSED)));
        router.post("/admin/environments/:id/resume").respond(audit.of("environment.resume", ctx ->
                status(ctx, EnumSet.of(Status.PAUSED), Status.READY)));
        router.post("/admin/environments/:id/disable").respond(audit.of("environment.disable", ctx ->
                status(ctx, EnumSet.of(Status.PENDING, Status.READY, Status.PAUSED), Status.DISABLED)));
        keys.mount(router, audit);
        router.post("/admin/environments/:id/test-connection").respond(audit.of("environment.test-connection",
                ctx -> tester.test(scoped(ctx), privateAllowed(Principal.of(ctx)))
                        .onSuccess(result -> Audit.changes(ctx, new JsonObject().put("result", result.getValue("ok"))
                                .put("failedStep", failedStep(result))))));
    }

    /** The first step of a connection test that did not pass, for the audit trail; null when all passed. */
    private static String failedStep(JsonObject result) {
        JsonArray steps = result.getJsonArray("steps");
        for (int i = 0; steps != null && i < steps.size(); i++) {
            if (steps.getValue(i) instanceof JsonObject step && "failed".equals(step.getString("status"))) {
                return step.getString("step");
            }
        }
        return null;
    }

    private Future<JsonObject> create(RoutingContext ctx) {
        Principal who = Principal.of(ctx);
        JsonObject body = jsonBody(ctx, true);
        if (!body.containsKey("tenantId") && who.onlyTenant().isPresent()) {
            body = body.copy().put("tenantId", who.onlyTenant().get()); // a hospital's admin need not name their tenant
        }
        boolean privateAllowed = privateAllowed(who);
        Environment candidate = EnvironmentValidator.forCreate(body, privateAllowed);
        if (!who.sees(candidate.tenantId())) {
            // as if it did not exist (another tenant's id is not revealed), and not in that tenant's audit trail
            Audit.about(ctx, who.onlyTenant().orElse(null), "environment/" + candidate.id());
            throw noTenant(candidate.tenantId());
        }
        Audit.about(ctx, candidate.tenantId(), "environment/" + candidate.id());
        Map<String, Object> urls = new java.util.HashMap<>();
        urls.put("interconnectUrl", candidate.interconnectUrl());
        urls.put("tokenAudience", candidate.tokenAudience());
        return namesAllowed(urls, privateAllowed)
                .compose(v -> keys.newKey(ctx.vertx(), candidate.id(), candidate.signingAlgorithm(), java.time.Duration.ZERO))
                .compose(key -> store.create(candidate, key, who.subject()))
                .recover(e -> Future.failedFuture(e instanceof io.vertx.pgclient.PgException pg && "23503".equals(pg.getSqlState())
                        ? noTenant(candidate.tenantId()) : e))
                .map(created -> {
            Environment e = created.orElseThrow(() -> Problem.conflict("an environment with id '" + candidate.id() + "' exists"));
            directory.added(e.id());
            ctx.response().setStatusCode(201).putHeader("Location", "/admin/environments/" + e.id());
            JsonObject json = e.toJson(publicBaseUrl);
            Audit.changes(ctx, new JsonObject().put("after", json));
            return json;
        });
    }

    /**
     * Loopback and private networks: only when the platform allows them, and only to platform administrators (a
     * hospital's own admin never points the gateway into the network it runs in).
     */
    private boolean privateAllowed(Principal who) {
        return tester.privateNetworks() && who.allTenants();
    }

    /**
     * Fails with a 400 naming the field when a URL among {@code fields} (interconnectUrl, tokenAudience) names a host
     * that resolves to an address the gateway may not call; literals were judged by the validator already.
     */
    private Future<Void> namesAllowed(Map<String, Object> fields, boolean privateAllowed) {
        List<String> names = new ArrayList<>();
        List<Future<String>> checks = new ArrayList<>();
        for (String field : List.of("interconnectUrl", "tokenAudience")) {
            if (fields.get(field) instanceof String url) {
                names.add(field);
                checks.add(tester.refusedName(java.net.URI.create(url).getHost(), privateAllowed));
            }
        }
        return Future.all(checks).compose(all -> {
            List<Problem.FieldError> errors = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                if (checks.get(i).result() != null) {
                    errors.add(new Problem.FieldError(null, names.get(i), checks.get(i).result()));
                }
            }
            return errors.isEmpty() ? Future.succeededFuture()
                    : Future.failedFuture(Problem.validation(errors.size() == 1 ? errors.get(0).field() + " "
                            + errors.get(0).message() : errors.size() + " fields are invalid", errors));
        });
    }

    private static Problem noTenant(String tenantId) {
        return Problem.validation("tenantId names no tenant", java.util.List.of(new Problem.FieldError(null,
                "tenantId", "no tenant '" + tenantId + "'; create it with POST /admin/tenants")));
    }

    private Future<JsonObject> get(RoutingContext ctx) {
        Environment e = scoped(ctx);
        String id = e.id();
        JsonObject json = e.toJson(publicBaseUrl);
        diagnosis.apply(id).ifPresent(d -> json.put("diagnosis", d));
        return store.statusHistory(id).map(h -> json.put("statusHistory", h))
                .compose(withHistory -> keys.view(id).map(k -> withHistory.put("keys", k)));
    }

    private Future<JsonObject> patch(RoutingContext ctx) {
        Environment current = scoped(ctx);
        String id = current.id();
        JsonObject body = jsonBody(ctx, true);
        boolean privateAllowed = privateAllowed(Principal.of(ctx));
        Map<String, Object> fields = EnvironmentValidator.forPatch(body, current, privateAllowed);
        return namesAllowed(fields, privateAllowed).compose(v -> store.patch(id, fields)).map(updated -> {
            JsonObject after = updated.orElseThrow(() -> notFound(id)).toJson(publicBaseUrl);
            Audit.changes(ctx, Audit.diff(current.toJson(publicBaseUrl), after));
            return after;
        });
    }

    private Future<JsonObject> delete(RoutingContext ctx) {
        Environment before = scoped(ctx);
        String id = before.id();
        boolean force = "true".equalsIgnoreCase(ctx.queryParams().get("force"));
        Audit.changes(ctx, new JsonObject().put("before", before.toJson(publicBaseUrl)).put("force", force));
        return store.delete(id, force).recover(e -> Future.failedFuture(e instanceof EnvironmentStore.OpenJobs open
                ? Problem.conflict("environment " + id + " has " + open.count() + " queued or in-flight jobs; "
                        + "DELETE with ?force=true to drop them").with("openJobs", open.count())
                : e)).map(deleted -> {
                    if (!deleted) {
                        throw notFound(id);
                    }
                    directory.removed(id);
                    ctx.response().setStatusCode(204);
                    return null;
                });
    }

    private Future<JsonObject> status(RoutingContext ctx, Set<Status> from, Status to) {
        Environment before = scoped(ctx);
        String id = before.id();
        JsonObject body = jsonBody(ctx, false);
        Object reason = body.getValue("reason");
        if (reason != null && !(reason instanceof String s && s.length() <= 500 && s.indexOf('\u0000') < 0
                && BodyText.wellFormed(s))) {
            // a NUL cannot be stored in PostgreSQL text (it was a 500), an unpaired surrogate only as '?'
            throw Problem.validation("reason must be a string of at most 500 characters",
                    java.util.List.of(new Problem.FieldError(null, "reason",
                            "must be a string of at most 500 characters, without NUL or unpaired surrogates")));
        }
        Audit.changes(ctx, new JsonObject().put("status", new JsonObject()
                .put("before", before.status().name()).put("after", to.name())).put("reason", reason));
        return store.changeStatus(id, from, to, Principal.of(ctx).subject(),
                (String) Optional.ofNullable(reason).orElse(ctx.request().path())).recover(e -> Future.failedFuture(e instanceof EnvironmentStore.TransitionRefused r
                        ? Problem.conflict(r.getMessage()) : e))
                .map(changed -> changed.orElseThrow(() -> notFound(id)).toJson(publicBaseUrl));
    }

    /**
     * The {@code :id} path parameter; an id no environment can have (it does not match {@code [a-z0-9-]{1,64}}) is
     * a 404 at once, and never reaches the database (a NUL in it would be a database error, a 500).
     */
    static String id(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        if (id == null || !EnvironmentValidator.ID.matcher(id).matches()) {
            throw notFound(id == null ? "" : id.replace('\u0000', '?'));
        }
        return id;
    }

    /** The environment of the path, as the scope guard read it; an id of the wrong shape is a 404 first. */
    static Environment scoped(RoutingContext ctx) {
        id(ctx);
        return TenantScope.scopedEnvironment(ctx);
    }

    static Problem notFound(String id) {
        return Problem.notFound("no environment with id '" + id + "'");
    }

    /** The JSON object body; {@code required} = a body must be there. 415 for a non-JSON body, 400 for bad JSON. */
    static JsonObject jsonBody(RoutingContext ctx, boolean required) {
        Buffer body = ctx.body().buffer();
        if (body == null || body.length() == 0) {
            if (required) {
                throw Problem.badRequest("a JSON object body is required");
            }
            return new JsonObject();
        }
        String type = ctx.request().getHeader("Content-Type");
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            throw Problems.unsupportedMediaType();
        }
        if (!BodyText.isUtf8(body)) {
            throw Problem.badRequest("the body is not valid UTF-8");
        }
        try {
            if (Json.decodeValue(body) instanceof JsonObject o) {
                return o;
            }
        } catch (DecodeException e) {
            throw Problem.badRequest("the body is not valid JSON");
        }
        throw Problem.badRequest("the body must be a JSON object");
    }
}
