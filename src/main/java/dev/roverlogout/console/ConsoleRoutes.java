package dev.roverlogout.console;

import java.net.URI;
import java.util.Optional;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.http.RouteMount;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The admin console: static files from the jar ({@code console/} on the classpath) at {@code /console/} on the
 * management port only, talking to the admin JSON API with the person's token. No server-side session: the page
 * keeps the token in sessionStorage (tab-scoped, never a cookie). Every answer under {@code /console} carries a
 * strict Content-Security-Policy (scripts and styles only from our own files, no inline code, {@code connect-src}
 * our origin plus the identity provider's, {@code frame-ancestors 'none'}).
 *
 * <p>{@code GET /console/config.json} tells the page how people sign in: OIDC (issuer and the console's client id)
 * or the admin token pasted into a form.
 */
public final class ConsoleRoutes implements RouteMount {
    private final Optional<GatewayConfig.Oidc> oidc;
    private final String csp;

    public ConsoleRoutes(Optional<GatewayConfig.Oidc> oidc) {
        this.oidc = oidc.filter(o -> !o.consoleClientId().isEmpty());
        String provider = this.oidc.map(o -> " " + origin(o.issuer())).orElse("");
        this.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"
                + provider + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    }

    static String origin(String url) {
        URI u = URI.create(url);
        return u.getScheme() + "://" + u.getRawAuthority();
    }

    /** The policy every console answer carries. */
    public String contentSecurityPolicy() {
        return csp;
    }

    @Override
    public void mount(Router router) {
        router.route("/console*").handler(this::headers);
        router.getWithRegex("/console").handler(ctx -> ctx.redirect("/console/")); // exactly /console (not /console/)
        router.get("/console/config.json").handler(ctx -> ctx.response().putHeader("Content-Type", "application/json")
                .end(config().encode()));
        router.get("/console/*").handler(StaticHandler.create("console").setCachingEnabled(false)
                .setDirectoryListing(false).setIndexPage("index.html").setIncludeHidden(false));
    }

    private void headers(RoutingContext ctx) {
        ctx.response().putHeader("Content-Security-Policy", csp)
                .putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("X-Frame-Options", "DENY")
                .putHeader("Referrer-Policy", "no-referrer")
                .putHeader("Cache-Control", "no-store");
        ctx.next();
    }

    private JsonObject config() {
        return new JsonObject().put("oidc", oidc.map(o -> new JsonObject().put("issuer", o.issuer())
                .put("clientId", o.consoleClientId()).put("audience", o.audience())).orElse(null));
    }
}
