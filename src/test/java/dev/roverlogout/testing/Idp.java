package dev.roverlogout.testing;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import no.nav.security.mock.oauth2.MockOAuth2Server;

/**
 * A real OpenID Connect provider for the tests (mock-oauth2-server: discovery, JWKS and RS256-signed tokens over
 * HTTP), with the issuer and audience a gateway is configured for, and people with chosen roles and tenants.
 */
public final class Idp implements AutoCloseable {
    public static final String ISSUER_ID = "hospital-idp";
    public static final String AUDIENCE = "rover-logout-gateway";

    private final MockOAuth2Server server = new MockOAuth2Server();

    public Idp() {
        server.start();
    }

    public MockOAuth2Server server() {
        return server;
    }

    public String issuer() {
        return server.issuerUrl(ISSUER_ID).toString();
    }

    /** The RLG_* variables of a gateway that accepts this provider's people. */
    public Map<String, String> gatewayConfig() {
        Map<String, String> env = new HashMap<>();
        env.put("RLG_AUTH_OIDC_ISSUER", issuer());
        env.put("RLG_AUTH_OIDC_AUDIENCE", AUDIENCE);
        return env;
    }

    /** An access token of {@code subject} with {@code role} on {@code tenants} ({@code "*"} = every tenant). */
    public String token(String subject, String role, String... tenants) {
        Map<String, Object> claims = new HashMap<>();
        claims.put("roles", List.of(role));
        claims.put("tenants", List.of(tenants));
        claims.put("name", "Person " + subject);
        return token(subject, claims);
    }

    public String token(String subject, Map<String, Object> claims) {
        return server.issueToken(ISSUER_ID, subject, AUDIENCE, claims, 3600).serialize();
    }

    @Override
    public void close() {
        server.shutdown();
    }
}
