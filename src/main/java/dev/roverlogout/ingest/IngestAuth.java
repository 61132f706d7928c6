package dev.roverlogout.ingest;

import dev.roverlogout.http.BearerAuth;
import dev.roverlogout.http.Problem;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;

/**
 * Who posts check-ins: the static {@code auth.ingestToken} (a credential of tenant {@code default}) or a tenant's
 * ingest credential, found by the SHA-256 of the bearer secret. The admin token is refused with 403 (roles are
 * strict), anything else with 401, before the body is read. The credential goes into the routing context for the
 * scope check and the rate limit.
 */
final class IngestAuth implements PlatformHandler {
    static final String CREDENTIAL_KEY = "ingestCredential";

    private final BearerAuth tokens;
    private final IngestCredentials credentials;

    /** Where ingest tokens come from, without naming any of them or a path on this server (the public port). */
    static final String UNKNOWN = "unknown or revoked token: send an ingest credential of your tenant (rlg_..., created "
            + "with POST /admin/tenants/{id}/credentials on the management port) or the ingest token (auth.ingestToken "
            + "or RLG_AUTH_INGESTTOKEN; when neither is set, the one generated into tokens.properties in the gateway's "
            + "data directory)";

    IngestAuth(BearerAuth tokens, IngestCredentials credentials) {
        this.tokens = tokens;
        this.credentials = credentials;
    }

    @Override
    public void handle(RoutingContext ctx) {
        String token = BearerAuth.tokenOrFail(ctx);
        if (token == null) {
            return;
        }
        byte[] digest = BearerAuth.sha256(token);
        BearerAuth.Role role = tokens.roleOf(digest).orElse(null);
        if (role == BearerAuth.Role.INGEST) {
            ctx.put(CREDENTIAL_KEY, credentials.staticToken());
            ctx.next();
        } else if (role != null) {
            ctx.fail(BearerAuth.lacks(BearerAuth.Role.INGEST));
        } else {
            IngestCredentials.Credential c = credentials.find(digest).orElse(null);
            if (c != null) {
                ctx.put(CREDENTIAL_KEY, c);
                ctx.next();
            } else if (!credentials.loaded()) { // the database has been unreachable since start: cannot tell yet
                ctx.fail(Problem.unavailable("ingest credentials are not loaded yet; nothing was stored, retry later", 5));
            } else {
                ctx.fail(BearerAuth.unauthorized(UNKNOWN));
            }
        }
    }
}
