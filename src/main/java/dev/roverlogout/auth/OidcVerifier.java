package dev.roverlogout.auth;

import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;

import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.lifecycle.Service;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

/**
 * Checks a person's access token from the identity provider: discovery ({@code <issuer>/.well-known/openid-configuration})
 * names the JWKS, which is fetched over HTTP and cached; a token whose {@code kid} is not in the cache makes one
 * refresh (at most one per {@link #MIN_REFRESH}, so a stream of made-up kids cannot make us hammer the provider).
 *
 * <p>Accepted: a JWS signed with RSA (RS/PS) or EC (ES) by a key of that JWKS, {@code iss} equal to the configured
 * issuer, {@code aud} containing the configured audience, {@code exp} in the future and {@code nbf} (if any) in the past
 * with {@value #SKEW_SECONDS} s of clock skew, and a {@code sub}. Refused: {@code alg: none}, every HMAC algorithm (a
 * public key must never become a shared secret), unknown keys, other issuers. The reason is logged for the operator
 * (never the token); the caller gets one undistinguished 401.
 */
public final class OidcVerifier implements Service {
    static final int SKEW_SECONDS = 60;
    static final Duration MIN_REFRESH = Duration.ofSeconds(10);
    static final Duration MAX_AGE = Duration.ofHours(1);
    private static final Set<JWSAlgorithm> ACCEPTED = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
            JWSAlgorithm.PS256, JWSAlgorithm.PS384, JWSAlgorithm.PS512, JWSAlgorithm.ES256, JWSAlgorithm.ES384,
            JWSAlgorithm.ES512);
    private static final Logger log = LoggerFactory.getLogger(OidcVerifier.class);
    /** JOSE {@code typ} values of access tokens (RFC 9068 and the plain one); absent is accepted too. */
    private static final Set<String> ACCESS_TOKEN_TYPES = Set.of("jwt", "at+jwt", "application/at+jwt");

    /** The token was not accepted; {@link #getMessage} is for the log, never for the caller. */
    public static final class Rejected extends RuntimeException {
        Rejected(String reason) {
            super(reason, null, false, false);
        }
    }

    /** The provider could not be reached and no key is cached: the token can be neither accepted nor refused. */
    public static final class ProviderUnavailable extends RuntimeException {
        ProviderUnavailable(String reason) {
            super(reason, null, false, false);
        }
    }

    private final WebClient web;
    private final GatewayConfig.Oidc config;
    private final DefaultJWTClaimsVerifier<com.nimbusds.jose.proc.SecurityContext> claimsVerifier;
    private volatile JWKSet keys;
    private volatile long fetchedAtNanos;
    private volatile boolean attempted;
    private Future<JWKSet> refreshing;

    public OidcVerifier(Vertx vertx, GatewayConfig.Oidc config) {
        this.config = config;
        this.web = WebClient.create(vertx, new WebClientOptions().setConnectTimeout(5_000).setIdleTimeout(30)
                .setFollowRedirects(false).setUserAgent("rover-logout-gateway"));
        this.claimsVerifier = new DefaultJWTClaimsVerifier<>(config.audience(),
                new JWTClaimsSet.Builder().issuer(config.issuer()).build(), Set.of("sub", "exp"));
        claimsVerifier.setMaxClockSkew(SKEW_SECONDS);
    }

    /** The person the token stands for; fails with {@link Rejected} or {@link ProviderUnavailable}. */
    public Future<Principal> verify(String token) {
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token); // refuses alg "none" (not a JWS) and anything that is not three parts
        } catch (ParseException e) {
            return Future.failedFuture(new Rejected("not a signed JWT"));
        }
        JWSHeader header = jwt.getHeader();
        if (!ACCEPTED.contains(header.getAlgorithm())) {
            return Future.failedFuture(new Rejected("algorithm " + header.getAlgorithm() + " is not accepted"));
        }
        if (header.getType() != null && !ACCESS_TOKEN_TYPES.contains(header.getType().getType().toLowerCase(java.util.Locale.ROOT))) {
            return Future.failedFuture(new Rejected("token type " + header.getType() + " is not an access token"));
        }
        String kid = header.getKeyID();
        return keys(false).compose(set -> candidates(set, header).isEmpty() && refreshDue()
                        ? keys(true) : Future.succeededFuture(set))
                .map(set -> principal(jwt, candidates(set, header), kid));
    }

    @Override
    public String name() {
        return "OIDC key cache";
    }

    /** Fetches discovery and keys now (at start, so the first sign-in does not wait); failures are logged only. */
    @Override
    public Future<Void> start() {
        return keys(true).<Void>mapEmpty().recover(e -> {
            log.warn("OIDC: cannot load the keys of {} yet ({}); retried on the first sign-in", config.issuer(), e.getMessage());
            return Future.succeededFuture();
        });
    }

    private boolean refreshDue() {
        return System.nanoTime() - fetchedAtNanos >= MIN_REFRESH.toNanos();
    }

    private List<JWK> candidates(JWKSet set, JWSHeader header) {
        List<JWK> out = new ArrayList<>();
        for (JWK k : set.getKeys()) {
            boolean forSigning = k.getKeyUse() == null || KeyUse.SIGNATURE.equals(k.getKeyUse());
            boolean kidMatches = header.getKeyID() == null || header.getKeyID().equals(k.getKeyID());
            boolean typeMatches = JWSAlgorithm.Family.RSA.contains(header.getAlgorithm()) ? k instanceof RSAKey
                    : k instanceof ECKey;
            if (forSigning && kidMatches && typeMatches && !k.isPrivate()) {
                out.add(k);
            }
        }
        return out;
    }

    private Principal principal(SignedJWT jwt, List<JWK> keys, String kid) {
        if (keys.isEmpty()) {
            throw new Rejected("no key with kid " + (kid == null ? "(none)" : "'" + kid + "'") + " in the issuer's JWKS");
        }
        boolean valid = false;
        for (JWK key : keys) {
            try {
                JWSVerifier verifier = key instanceof RSAKey rsa ? new RSASSAVerifier(rsa) : new ECDSAVerifier((ECKey) key);
                if (jwt.verify(verifier)) {
                    valid = true;
                    break;
                }
            } catch (JOSEException e) {
                // a key that cannot check this signature: try the next
            }
        }
        if (!valid) {
            throw new Rejected("signature does not verify with the issuer's key");
        }
        JWTClaimsSet claims;
        try {
            claims = jwt.getJWTClaimsSet();
            claimsVerifier.verify(claims, null);
        } catch (ParseException e) {
            throw new Rejected("claims are not a JSON object");
        } catch (BadJWTException e) {
            throw new Rejected(e.getMessage()); // expired, not yet valid, wrong iss / aud, missing sub or exp
        }
        Map<String, Object> all = claims.getClaims();
        // an ID token (the console's sign-in proof) is not an access token: Keycloak marks it typ "ID", and only ID
        // tokens carry at_hash; the audience check does the rest (auth.oidc.audience is never the console's client id)
        if ("ID".equals(all.get("typ")) || all.containsKey("at_hash")) {
            throw new Rejected("an ID token, not an access token");
        }
        Set<String> roles = Claims.values(all, config.rolesClaim());
        Principal.Role role = null;
        for (String value : roles) {
            Principal.Role r = Principal.Role.of(value).orElse(null);
            if (r != null && (role == null || r.atLeast(role))) {
                role = r;
            }
        }
        Set<String> tenants = Claims.values(all, config.tenantsClaim());
        String name = Claims.firstText(all, "name", "preferred_username", "email").orElse(claims.getSubject());
        if (role == null) {
            throw new Forbidden("the token carries no role (viewer, operator or admin) in the claim "
                    + config.rolesClaim());
        }
        if (tenants.isEmpty()) {
            throw new Forbidden("the token names no tenant (tenant ids or *) in the claim " + config.tenantsClaim());
        }
        boolean all_ = tenants.contains("*");
        tenants.remove("*");
        return Principal.person(claims.getSubject(), name, role, tenants, all_);
    }

    /** A valid token of a person who may not use the management API at all (no role, no tenant): 403. */
    public static final class Forbidden extends RuntimeException {
        Forbidden(String reason) {
            super(reason, null, false, false);
        }
    }

    /** The cached keys, or fresh ones when {@code refresh} or when none are cached or they are older than an hour. */
    private Future<JWKSet> keys(boolean refresh) {
        JWKSet cached = keys;
        if (!refresh && cached != null && System.nanoTime() - fetchedAtNanos < MAX_AGE.toNanos()) {
            return Future.succeededFuture(cached);
        }
        synchronized (this) {
            if (cached == null && attempted && refreshing == null && !refreshDue()) {
                // the provider failed moments ago: do not turn every sign-in into another fetch
                return Future.failedFuture(new ProviderUnavailable("loading the provider's keys failed less than "
                        + MIN_REFRESH.toSeconds() + " s ago"));
            }
            if (refreshing == null) {
                attempted = true;
                refreshing = fetch().andThen(ar -> {
                    synchronized (this) {
                        refreshing = null;
                    }
                    if (ar.succeeded()) {
                        keys = ar.result();
                        fetchedAtNanos = System.nanoTime();
                    } else {
                        fetchedAtNanos = System.nanoTime(); // a failed fetch also waits MIN_REFRESH before the next
                    }
                });
            }
            Future<JWKSet> f = refreshing;
            // with keys cached, a failed refresh keeps using them (the provider may be briefly away)
            return cached == null ? f : f.recover(e -> Future.succeededFuture(cached));
        }
    }

    private Future<JWKSet> fetch() {
        String discovery = config.issuer().replaceAll("/+$", "") + "/.well-known/openid-configuration";
        return get(discovery).compose(doc -> {
            JsonObject json;
            try {
                json = doc.bodyAsJsonObject();
            } catch (RuntimeException e) {
                return Future.failedFuture(new ProviderUnavailable("the discovery document is not JSON"));
            }
            if (json == null || !config.issuer().equals(json.getString("issuer"))) {
                return Future.failedFuture(new ProviderUnavailable("the discovery document names issuer '"
                        + (json == null ? null : json.getValue("issuer")) + "', not the configured " + config.issuer()));
            }
            String jwksUri = json.getString("jwks_uri");
            if (jwksUri == null) {
                return Future.failedFuture(new ProviderUnavailable("the discovery document has no jwks_uri"));
            }
            return get(jwksUri).compose(r -> {
                try {
                    JWKSet set = JWKSet.parse(r.bodyAsString()).toPublicJWKSet();
                    log.info("OIDC: loaded {} keys of {} from {}", set.getKeys().size(), config.issuer(), jwksUri);
                    return Future.succeededFuture(set);
                } catch (ParseException | RuntimeException e) {
                    return Future.failedFuture(new ProviderUnavailable("the JWKS at " + jwksUri + " is not a JWK set"));
                }
            });
        });
    }

    private Future<HttpResponse<io.vertx.core.buffer.Buffer>> get(String url) {
        return web.getAbs(url).timeout(5_000).send().recover(e -> Future.failedFuture(
                new ProviderUnavailable("cannot fetch " + url + ": " + e.getMessage()))).compose(r -> r.statusCode() == 200
                ? Future.succeededFuture(r)
                : Future.failedFuture(new ProviderUnavailable(url + " answered " + r.statusCode())));
    }

    @Override
    public Future<Void> stop() {
        web.close();
        return Future.succeededFuture();
    }
}
