package dev.roverlogout.epic;

import java.time.Duration;
import java.time.Instant;

import dev.roverlogout.http.Problem;
import dev.roverlogout.http.RouteMount;
import dev.roverlogout.store.SigningKeyStore;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /jwks/{environmentId}.json} (contract §4): the public keys Epic verifies our client assertions with.
 * No auth; never private members (only the stored public JWKs are read). Short {@code Cache-Control} so that a
 * rotation reaches Epic well within {@code keys.rotationGrace}.
 */
public final class JwksRoutes implements RouteMount {
    public static final Duration MAX_AGE = Duration.ofMinutes(5);
    private static final java.util.regex.Pattern ENVIRONMENT_ID = java.util.regex.Pattern.compile("[a-z0-9-]{1,64}");

    private final SigningKeyStore store;
    private final Duration retireAfter;

    public JwksRoutes(SigningKeyStore store, Duration retireAfter) {
        this.store = store;
        this.retireAfter = retireAfter;
    }

    @Override
    public void mount(Router router) {
        router.get("/jwks/:file").handler(this::jwks);
    }

    private void jwks(RoutingContext ctx) {
        String file = ctx.pathParam("file");
        if (!file.endsWith(".json")) {
            ctx.fail(Problem.notFound("no JWK set at " + ctx.request().path()));
            return;
        }
        String id = file.substring(0, file.length() - 5);
        if (!ENVIRONMENT_ID.matcher(id).matches()) { // never a query for what cannot be an id (a NUL is a 500 there)
            ctx.fail(Problem.notFound("no JWK set at " + ctx.request().path()));
            return;
        }
        store.keys(id).onSuccess(keys -> {
            if (keys.isEmpty()) {
                ctx.fail(Problem.notFound("no environment with id '" + id + "'"));
                return;
            }
            JsonArray set = new JsonArray();
            KeyRing.published(keys, Instant.now(), retireAfter).forEach(k -> set.add(new JsonObject(k.publicJwk())));
            ctx.response().putHeader("Content-Type", "application/json")
                    .putHeader("Cache-Control", "public, max-age=" + MAX_AGE.toSeconds())
                    .end(new JsonObject().put("keys", set).encode());
        }).onFailure(ctx::fail);
    }
}
