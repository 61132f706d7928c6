package dev.roverlogout.auth;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * Who is calling the management API: a person signed in through OpenID Connect, or the static admin token
 * (break-glass, a platform admin). Set on the routing context by {@link AdminAuth} before any admin route runs.
 *
 * @param subject    the token's {@code sub}, or {@value #STATIC_ADMIN} for the static admin token
 * @param name       a name to show (the {@code name}, {@code preferred_username} or {@code email} claim); may equal subject
 * @param role       the highest role the person holds
 * @param tenants    the tenant ids the person may act on; ignored when {@code allTenants}
 * @param allTenants the tenants claim holds {@code *} (platform SREs), or the static admin token
 * @param breakGlass the static admin token (set only by {@link #staticAdmin}; never derived from a claim)
 */
public record Principal(String subject, String name, Role role, Set<String> tenants, boolean allTenants,
                        boolean breakGlass) {
    public static final String STATIC_ADMIN = "static-admin-token";
    private static final String KEY = "rlg.principal";

    public Principal {
        tenants = Set.copyOf(tenants);
    }

    /** viewer: every GET; operator: + test-connection, pause, resume, dead-letter replay; admin: everything. */
    public enum Role {
        VIEWER, OPERATOR, ADMIN;

        public String value() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Optional<Role> of(String value) {
            for (Role r : values()) {
                if (r.value().equals(value)) {
                    return Optional.of(r);
                }
            }
            return Optional.empty();
        }

        public boolean atLeast(Role other) {
            return compareTo(other) >= 0;
        }
    }

    public static Principal staticAdmin() {
        return new Principal(STATIC_ADMIN, "break-glass admin token", Role.ADMIN, Set.of(), true, true);
    }

    /** A person signed in through the identity provider. */
    public static Principal person(String subject, String name, Role role, Set<String> tenants, boolean allTenants) {
        return new Principal(subject, name, role, tenants, allTenants, false);
    }

    /** May this person see and act on the tenant's objects? */
    public boolean sees(String tenantId) {
        return allTenants || tenants.contains(tenantId);
    }

    /** The tenants to filter lists by: empty = every tenant (no filter). */
    public Optional<List<String>> tenantFilter() {
        return allTenants ? Optional.empty() : Optional.of(List.copyOf(new TreeSet<>(tenants)));
    }

    /** The one tenant of a person who has exactly one, else empty. */
    public Optional<String> onlyTenant() {
        return !allTenants && tenants.size() == 1 ? Optional.of(tenants.iterator().next()) : Optional.empty();
    }

    public JsonObject toJson() {
        return new JsonObject().put("subject", subject).put("name", name).put("role", role.value())
                .put("tenants", allTenants ? new JsonArray().add("*") : new JsonArray(List.copyOf(new TreeSet<>(tenants))))
                .put("via", breakGlass() ? STATIC_ADMIN : "oidc");
    }

    void attach(RoutingContext ctx) {
        ctx.put(KEY, this);
    }

    /** The caller, if {@link AdminAuth} got as far as knowing who it is (also when it then refused the role). */
    public static Optional<Principal> find(RoutingContext ctx) {
        return Optional.ofNullable(ctx.get(KEY));
    }

    /** The caller of an admin route (set by {@link AdminAuth}, which runs before every admin route). */
    public static Principal of(RoutingContext ctx) {
        Principal p = ctx.get(KEY);
        if (p == null) {
            throw new IllegalStateException("no principal: the admin routes must be mounted behind AdminAuth");
        }
        return p;
    }
}
