package dev.roverlogout.admin;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;

import dev.roverlogout.auth.Principal;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.store.AuditStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /admin/audit?tenantId=&since=&action=&limit=&cursor=}: the audit trail, newest first, a page at a time
 * ({@code nextCursor} fetches the next, null on the last); scoped to the caller's tenants (a platform admin also sees
 * the entries about no single tenant). {@code GET /admin/me}: who the gateway thinks the caller is.
 */
public final class AuditRoutes implements RouteMount {
    private final AuditStore store;

    public AuditRoutes(AuditStore store) {
        this.store = store;
    }

    @Override
    public void mount(Router router) {
        router.get("/admin/audit").respond(this::page);
        router.get("/admin/me").respond(ctx -> Future.succeededFuture(Principal.of(ctx).toJson()));
    }

    private Future<JsonObject> page(RoutingContext ctx) {
        Principal who = Principal.of(ctx);
        String tenantId = param(ctx, "tenantId");
        if (tenantId != null && !EnvironmentValidator.ID.matcher(tenantId).matches()) {
            throw QueryParams.invalid("tenantId", "must match [a-z0-9-]{1,64}");
        }
        String action = param(ctx, "action");
        if (action != null && !action.matches("[a-z.-]{1,64}")) {
            throw QueryParams.invalid("action", "must be an action name such as environment.update");
        }
        OffsetDateTime since = null;
        String sinceText = param(ctx, "since");
        if (sinceText != null) {
            try {
                since = OffsetDateTime.parse(sinceText);
            } catch (DateTimeParseException e) {
                throw QueryParams.invalid("since", "must be an ISO-8601 date-time with offset, e.g. 2026-11-30T07:00:00Z");
            }
        }
        int limit = QueryParams.limit(ctx);
        Long before = cursor(param(ctx, "cursor"));
        List<String> visible = who.tenantFilter().orElse(null);
        return store.page(visible, tenantId, since, action, before, limit + 1).map(rows -> {
            boolean more = rows.size() > limit;
            List<JsonObject> items = more ? rows.subList(0, limit) : rows;
            String next = more ? encode(items.get(items.size() - 1).getLong("id")) : null;
            return new JsonObject().put("items", new JsonArray(new java.util.ArrayList<>(items))).put("nextCursor", next);
        });
    }

    private static String param(RoutingContext ctx, String name) {
        String v = ctx.queryParams().get(name);
        return v == null || v.isEmpty() ? null : v;
    }

    /** The cursor is opaque to callers: base64url of {@code a<id>} (the last entry of the page before). */
    static String encode(long id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(("a" + id).getBytes(StandardCharsets.US_ASCII));
    }

    private static Long cursor(String value) {
        if (value == null) {
            return null;
        }
        try {
            String text = new String(Base64.getUrlDecoder().decode(value), StandardCharsets.US_ASCII);
            if (text.matches("a[0-9]{1,18}")) {
                return Long.parseLong(text.substring(1));
            }
        } catch (IllegalArgumentException e) {
            // below
        }
        throw QueryParams.invalid("cursor", "is not a cursor this API gave out (use nextCursor of the previous page)");
    }
}
