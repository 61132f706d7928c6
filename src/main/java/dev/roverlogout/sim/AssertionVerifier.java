package dev.roverlogout.sim;

import java.text.ParseException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/**
 * Checks a client assertion the way Epic does: RS384 or ES384 signature by a key of the registered JWK Set,
 * {@code iss = sub = clientId}, {@code aud} = the token URL, {@code exp} in the future and at most five minutes
 * after {@code iat}, {@code nbf}/{@code iat} not in the future, and a string {@code jti} never seen before.
 * Pure except for the replay set the caller owns.
 */
final class AssertionVerifier {
    static final Duration MAX_LIFETIME = Duration.ofMinutes(5);
    static final Duration SKEW = Duration.ofSeconds(30);

    /** Why an assertion was refused; the reason becomes the OAuth error_description. */
    static final class Refused extends Exception {
        final String reason;

        Refused(String reason, String description) {
            super(description, null, false, false);
            this.reason = reason;
        }
    }

    private AssertionVerifier() {
    }

    /** The kid of the assertion's header (to find the key before verifying). */
    static String keyId(String assertion) throws Refused {
        try {
            String kid = SignedJWT.parse(assertion).getHeader().getKeyID();
            if (kid == null) {
                throw new Refused("no_kid", "the client assertion header has no kid");
            }
            return kid;
        } catch (ParseException e) {
            throw new Refused("malformed", "the client assertion is not a signed JWT");
        }
    }

    /** Verifies and returns the jti; the caller records it for replay detection. */
    static String verify(String assertion, JWKSet keys, String clientId, String tokenUrl, Instant now) throws Refused {
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(assertion);
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new Refused("malformed", "the client assertion is not a signed JWT");
        }
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        if (!JWSAlgorithm.ES384.equals(alg) && !JWSAlgorithm.RS384.equals(alg)) {
            throw new Refused("algorithm", "alg " + alg + " is not accepted (RS384 or ES384)");
        }
        JWK key = keys.getKeyByKeyId(jwt.getHeader().getKeyID());
        if (key == null) {
            throw new Refused("unknown_kid", "no key " + jwt.getHeader().getKeyID() + " in the registered JWK Set");
        }
        try {
            JWSVerifier verifier = key instanceof ECKey ec ? new ECDSAVerifier(ec) : new RSASSAVerifier((RSAKey) key);
            if (!jwt.verify(verifier)) {
                throw new Refused("signature", "the client assertion signature does not verify");
            }
        } catch (JOSEException e) {
            throw new Refused("signature", "the client assertion cannot be verified with key " + key.getKeyID());
        }
        if (!clientId.equals(claims.getIssuer()) || !clientId.equals(claims.getSubject())) {
            throw new Refused("issuer", "iss and sub must be the client ID");
        }
        if (claims.getAudience() == null || !claims.getAudience().contains(tokenUrl)) {
            throw new Refused("audience", "aud must be " + tokenUrl);
        }
        Date exp = claims.getExpirationTime();
        Date iat = claims.getIssueTime();
        Date nbf = claims.getNotBeforeTime();
        if (exp == null || !exp.toInstant().isAfter(now)) {
            throw new Refused("expired", "the client assertion has expired");
        }
        Instant issued = iat == null ? now : iat.toInstant();
        if (issued.isAfter(now.plus(SKEW)) || nbf != null && nbf.toInstant().isAfter(now.plus(SKEW))) {
            throw new Refused("not_yet_valid", "iat/nbf lie in the future");
        }
        if (Duration.between(issued, exp.toInstant()).compareTo(MAX_LIFETIME) > 0) {
            throw new Refused("lifetime", "exp may be at most 5 minutes after iat");
        }
        if (claims.getJWTID() == null || claims.getJWTID().isBlank()) {
            throw new Refused("jti", "jti is required");
        }
        return claims.getJWTID();
    }
}
