package dev.roverlogout.auth;

import java.util.Optional;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.http.Problem;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;

/**
 * Who may call an admin route. A bearer token that looks like a JWT goes to the identity provider's keys
 * ({@link OidcVerifier}); anything else is compared with the static admin token (break-glass, a platform admin,
 * unless {@code auth.adminToken: disabled}). Then the role the route needs ({@link #required}) is checked, and the
 * {@link Principal} is put on the context for the routes (tenant scope, audit).
 *
 * <p>A {@link PlatformHandler} so that it runs before the body handler: nobody unauthenticated uploads a body. While
 * the keys are fetched the request is paused (Vert.x Web's own auth handlers do the same), so no body byte is lost.
 */
public final class AdminAuth implements PlatformHandler {
    private static final Logger log = LoggerFactory.getLogger(AdminAuth.class);
    private static final Logger AUDIT_LOG = LoggerFactory.getLogger("dev.roverlogout.audit");
    private static final Pattern JWT = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]*");
    /** The operator's POST routes: a connection test, pausing and resuming calls, replaying dead letters. */
    private static final Pattern OPERATOR = Pattern.compile(
            "/admin/environments/[^/]+/(test-connection|pause|resume)|/admin/dead-letters/replay");
    /** The answer to every token that is not accepted, whatever the reason: the reason is in our log only. */
    static final String NOT_ACCEPTED = "the token was not accepted";

    private final BearerAuth tokens;
    private final Optional<OidcVerifier> oidc;
    private final boolean staticAdmin;
    private final String unknownHint;

    /**
     * @param tokens      the static tokens (admin unless disabled; ingest, to answer it 403 rather than 401)
     * @param oidc        the identity provider's verifier, when configured
     * @param staticAdmin whether the static admin token is accepted ({@code auth.adminToken} not disabled)
     * @param dataDir     the configured data directory, as given (named in the hint for an unknown token; the
     *                    management port is the operators' own)
     */
    public AdminAuth(BearerAuth tokens, Optional<OidcVerifier> oidc, boolean staticAdmin, java.nio.file.Path dataDir) {
        this.tokens = tokens;
        this.unknownHint = "unknown token: "
                + (staticAdmin ? "the admin token is auth.adminToken (or RLG_AUTH_ADMINTOKEN); when neither is set it is "
                        + "the one generated into " + dataDir.resolve("tokens.properties") + " (dataDir)" : "")
                + (staticAdmin && oidc.isPresent() ? "; " : "")
                + (oidc.isPresent() ? "people send an access token of the identity provider (auth.oidc.issuer)" : "");
        this.oidc = oidc;
        this.staticAdmin = staticAdmin;
    }

    /** The role a request needs: viewer for reads, operator for its few POSTs, admin for every other change. */
    public static Principal.Role required(HttpMethod method, String path) {
        if (method == HttpMethod.GET || method == HttpMethod.HEAD) {
            return Principal.Role.VIEWER;
        }
        return method == HttpMethod.POST && OPERATOR.matcher(path).matches() ? Principal.Role.OPERATOR : Principal.Role.ADMIN;
    }

    @Override
    public void handle(RoutingContext ctx) {
        String token = BearerAuth.tokenOrFail(ctx);
        if (token == null) {
            return;
        }
        // the static tokens first (constant time, whatever the token looks like), then the identity provider's
        Optional<BearerAuth.Role> matched = tokens.roleOf(BearerAuth.sha256(token));
        if (matched.isPresent()) {
            if (matched.get() == BearerAuth.Role.ADMIN && staticAdmin) {
                authorize(ctx, Principal.staticAdmin());
            } else {
                ctx.fail(BearerAuth.lacks(BearerAuth.Role.ADMIN));
            }
        } else if (oidc.isPresent() && JWT.matcher(token).matches()) {
            verify(ctx, oidc.get(), token);
        } else {
            ctx.fail(BearerAuth.unauthorized(unknownHint));
        }
    }

    private void verify(RoutingContext ctx, OidcVerifier verifier, String token) {
        boolean paused = !ctx.request().isEnded();
        if (paused) {
            ctx.request().pause();
        }
        verifier.verify(token).onComplete(ar -> {
            if (paused) {
                ctx.request().resume();
            }
            if (ar.succeeded()) {
                authorize(ctx, ar.result());
            } else if (ar.cause() instanceof OidcVerifier.Forbidden f) {
                ctx.fail(new Problem(403, "forbidden", "Forbidden", f.getMessage()));
            } else if (ar.cause() instanceof OidcVerifier.ProviderUnavailable u) {
                log.warn("OIDC: a token could not be checked: {}", u.getMessage());
                ctx.fail(Problem.unavailable("the identity provider cannot be reached to check the token", 5));
            } else {
                log.info("OIDC: refused a token on {} {}: {}", ctx.request().method(), ctx.request().path(),
                        ar.cause().getMessage());
                ctx.fail(BearerAuth.unauthorized(NOT_ACCEPTED)
                        .header("WWW-Authenticate", "Bearer realm=\"rover-logout-gateway\", error=\"invalid_token\""));
            }
        });
    }

    private void authorize(RoutingContext ctx, Principal p) {
        p.attach(ctx); // before the role check: a refused attempt is audited with its actor
        if (p.breakGlass() && oidc.isPresent()) {
            // with people signing in, the static token is break-glass: every use is on the audit log, reads too
            AUDIT_LOG.info("audit: break-glass admin token used for {} {} (request {})", ctx.request().method(),
                    ctx.normalizedPath(), ctx.response().headers().get("X-Request-ID"));
        }
        Principal.Role needed = required(ctx.request().method(), ctx.normalizedPath());
        if (!p.role().atLeast(needed)) {
            ctx.fail(new Problem(403, "forbidden", "Forbidden", ctx.request().method() + " " + ctx.request().path()
                    + " needs the role " + needed.value() + "; you have " + p.role().value()));
            return;
        }
        ctx.next();
    }
}
