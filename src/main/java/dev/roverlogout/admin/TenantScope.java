package dev.roverlogout.admin;

import dev.roverlogout.auth.Principal;
import dev.roverlogout.http.Problem;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.store.Environment;
import dev.roverlogout.store.EnvironmentStore;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * Tenant scope, in one place for every route under an environment or a tenant: mounted before the admin routes, it
 * answers 404 when the path names an environment or tenant the caller may not see (exactly what a missing one
 * answers, so nobody learns another tenant's ids), and tells the audit which tenant and target a request is about.
 * Platform-wide routes (creating or deleting tenants, retention) are for platform admins (tenants claim {@code *}).
 * Lists and filters are scoped by the routes themselves ({@link Principal#tenantFilter}).
 *
 * <p>Regex routes, so that these guards are not themselves routes in {@code router.getRoutes()} walks.
 */
public final class TenantScope implements RouteMount {
    private static final String ENVIRONMENT = "rlg.scope.environment";

    private final EnvironmentStore environments;

    public TenantScope(EnvironmentStore environments) {
        this.environments = environments;
    }

    @Override
    public void mount(Router router) {
        router.routeWithRegex("/admin/environments/([^/]+)(?:/.*)?").handler(this::environment);
        router.routeWithRegex("/admin/tenants/([^/]+)(?:/.*)?").handler(this::tenant);
        router.routeWithRegex(HttpMethod.DELETE, "/admin/tenants/[^/]+/?").handler(ctx -> platform(ctx, "deleting tenants"));
        router.routeWithRegex(HttpMethod.POST, "/admin/tenants/?").handler(ctx -> platform(ctx, "creating tenants"));
        router.routeWithRegex("/admin/retention(?:/.*)?").handler(ctx -> platform(ctx, "retention"));
    }

    private void environment(RoutingContext ctx) {
        String id = ctx.pathParam("param0");
        if (id == null || !EnvironmentValidator.ID.matcher(id).matches()) {
            ctx.next(); // the route answers 404 without asking the database
            return;
        }
        Principal who = Principal.of(ctx);
        environments.get(id).onSuccess(found -> {
            // missing and hidden answer alike, here, before any route or method check could tell them apart
            if (found.isEmpty() || !who.sees(found.get().tenantId())) {
                ctx.fail(EnvironmentRoutes.notFound(id));
                return;
            }
            Audit.about(ctx, found.get().tenantId(), "environment/" + id);
            ctx.put(ENVIRONMENT, found.get());
            ctx.next();
        }).onFailure(ctx::fail);
    }

    /**
     * The environment the path names, as this guard read it (the routes under an environment use it instead of
     * reading it again); only for a path whose id has the shape of an environment id (others are a 404 before).
     */
    static Environment scopedEnvironment(RoutingContext ctx) {
        Environment e = ctx.get(ENVIRONMENT);
        if (e == null) {
            throw new IllegalStateException("no environment: the route must be mounted behind TenantScope");
        }
        return e;
    }

    private void tenant(RoutingContext ctx) {
        String id = ctx.pathParam("param0");
        Principal who = Principal.of(ctx);
        if (id != null && EnvironmentValidator.ID.matcher(id).matches()) {
            if (!who.sees(id)) { // no database lookup: hidden tenants are 404 whether they exist or not
                ctx.fail(TenantRoutes.notFound(id));
                return;
            }
            Audit.about(ctx, id, "tenant/" + id);
        }
        ctx.next();
    }

    private static void platform(RoutingContext ctx, String what) {
        if (Principal.of(ctx).allTenants()) {
            ctx.next();
        } else {
            ctx.fail(platformOnly(what));
        }
    }

    private static Problem platformOnly(String what) {
        return new Problem(403, "forbidden", "Forbidden", what + " is for platform admins (the tenants claim holds *)");
    }
}
