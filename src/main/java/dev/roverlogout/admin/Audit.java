package dev.roverlogout.admin;

import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.auth.Principal;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.RequestIds;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.store.AuditStore;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * The audit trail of changes through the admin API. Every mutating route answers through {@link #of}: whatever the
 * route did (a change, or a refusal such as 400, 404 or 409), one row is appended to {@code audit_entry} and one INFO
 * line logged on {@code dev.roverlogout.audit}, <em>before</em> the answer goes out.
 *
 * <p>Who: the {@link Principal} ({@code sub} and name, or {@code static-admin-token}). Which tenant and target: what
 * {@link TenantScope} found for the path, or what the route sets with {@link #about}. What changed: what the route sets
 * with {@link #changes}, built from the objects' public views, so never a secret or key material.
 *
 * <p>The row is written after the change committed, not in its transaction: a crash between the two loses the row
 * (the change itself stays visible, e.g. in the environment's status history). If the row cannot be written, the
 * answer still reports the change truthfully and the log line (at ERROR) keeps the record.
 */
public final class Audit implements RouteMount {
    private static final Logger log = LoggerFactory.getLogger("dev.roverlogout.audit");
    private static final String TENANT = "rlg.audit.tenant";
    private static final String TARGET = "rlg.audit.target";
    private static final String CHANGES = "rlg.audit.changes";
    private static final String WRITTEN = "rlg.audit.written";

    private final AuditStore store;

    public Audit(AuditStore store) {
        this.store = store;
    }

    /**
     * Refusals before any route ran — a role the person lacks, another tenant's object (404), a platform-only action,
     * a body too large — are audited too, as {@code request.refused}, when the caller is known and the request would
     * have changed something (not GET or HEAD). Mounted before the generic failure handler, which then answers.
     */
    @Override
    public void mount(io.vertx.ext.web.Router router) {
        router.route("/admin/*").failureHandler(this::refusedBeforeRoute);
    }

    private void refusedBeforeRoute(RoutingContext ctx) {
        Principal who = Principal.find(ctx).orElse(null);
        io.vertx.core.http.HttpMethod method = ctx.request().method();
        if (who == null || ctx.get(WRITTEN) != null || method == io.vertx.core.http.HttpMethod.GET
                || method == io.vertx.core.http.HttpMethod.HEAD) {
            ctx.next();
            return;
        }
        Problem problem = ctx.failure() instanceof Problem p ? p : null;
        int status = problem != null ? problem.status() : ctx.statusCode() > 0 ? ctx.statusCode() : 500;
        // the tenant of the person, never the tenant of the object they were refused (not in another's trail)
        ctx.put(TENANT, who.onlyTenant().orElse(null));
        ctx.put(TARGET, ctx.normalizedPath());
        changes(ctx, new JsonObject().put("method", method.name())
                .put("detail", problem == null ? null : problem.getMessage()));
        record(ctx, "request.refused", Future.failedFuture(problem != null ? problem
                : new Problem(status, "refused", "Refused", "refused"))).onComplete(x -> ctx.next());
    }

    /** The tenant and target a request is about (the scope guard sets them from the path; a route may refine them). */
    static void about(RoutingContext ctx, String tenantId, String target) {
        ctx.put(TENANT, tenantId);
        ctx.put(TARGET, target);
    }

    /** The tenant a request turned out to be about (a replay of jobs that all belong to one). */
    static void tenant(RoutingContext ctx, String tenantId) {
        ctx.put(TENANT, tenantId);
    }

    /** What the request changed: before/after of fields, counts; public data only. */
    static void changes(RoutingContext ctx, JsonObject changes) {
        ctx.put(CHANGES, changes);
    }

    /** The fields that differ between two public views, each as {@code {"before", "after"}}. */
    static JsonObject diff(JsonObject before, JsonObject after) {
        JsonObject out = new JsonObject();
        java.util.Set<String> names = new java.util.TreeSet<>(before.fieldNames());
        names.addAll(after.fieldNames());
        for (String name : names) {
            if (!"updatedAt".equals(name) && !java.util.Objects.equals(before.getValue(name), after.getValue(name))) {
                out.put(name, new JsonObject().put("before", before.getValue(name)).put("after", after.getValue(name)));
            }
        }
        return out;
    }

    /** {@code route}, audited as {@code action}: the answer waits for the audit row. */
    public <T> Function<RoutingContext, Future<T>> of(String action, Function<RoutingContext, Future<T>> route) {
        return ctx -> {
            Future<T> answer;
            try {
                answer = route.apply(ctx);
            } catch (RuntimeException e) {
                answer = Future.failedFuture(e);
            }
            return answer.transform(ar -> record(ctx, action, ar).transform(x -> ar.succeeded()
                    ? Future.succeededFuture(ar.result()) : Future.<T>failedFuture(ar.cause())));
        };
    }

    private Future<Long> record(RoutingContext ctx, String action, AsyncResult<?> ar) {
        ctx.put(WRITTEN, true);
        Principal who = Principal.of(ctx);
        int status = ar.succeeded() ? ctx.response().getStatusCode()
                : ar.cause() instanceof Problem p ? p.status() : 500;
        String outcome = status < 400 ? "success" : status < 500 ? "refused" : "error";
        JsonObject changes = ctx.get(CHANGES);
        if (changes == null && ar.failed() && ar.cause() instanceof Problem p) {
            changes = new JsonObject().put("detail", p.getMessage()); // why refused
        }
        String target = ctx.get(TARGET);
        AuditStore.Entry entry = new AuditStore.Entry(who.subject(), who.name(),
                who.breakGlass() ? Principal.STATIC_ADMIN : "oidc", ctx.get(TENANT), action,
                target == null ? ctx.normalizedPath() : target, RequestIds.assign(ctx), outcome, status,
                changes == null ? new JsonObject() : changes);
        return store.append(entry).onSuccess(id -> line(entry, false)).onFailure(e -> {
            line(entry, true);
            log.error("The audit row above could not be written: {}", e.getMessage());
        });
    }

    private static void line(AuditStore.Entry e, boolean lost) {
        log.atLevel(lost ? org.slf4j.event.Level.ERROR : org.slf4j.event.Level.INFO)
                .addKeyValue("action", e.action()).addKeyValue("actor", e.actor()).addKeyValue("via", e.via())
                .addKeyValue("tenantId", e.tenantId()).addKeyValue("target", e.target())
                .addKeyValue("requestId", e.requestId()).addKeyValue("outcome", e.outcome())
                .log("audit: {} {} by {} ({}) on {}: {} {} {}", e.action(), e.target(), e.actor(), e.via(),
                        e.tenantId() == null ? "all tenants" : "tenant " + e.tenantId(), e.outcome(), e.status(),
                        e.changes().encode());
    }
}
