package dev.roverlogout.epic;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

/**
 * The signed JWT a backend app presents to Epic's token endpoint (SMART Backend Services, contract §6):
 * {@code iss = sub = clientId}, {@code aud} = the token URL (or the environment's tokenAudience), a unique
 * string {@code jti}, {@code iat = nbf = now}, {@code exp} four minutes later (Epic allows at most five).
 */
public final class ClientAssertion {
    public static final Duration LIFETIME = Duration.ofMinutes(4);
    public static final String TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    private ClientAssertion() {
    }

    public static String sign(JWK privateKey, String clientId, String audience, Instant now) {
        try {
            JWSAlgorithm alg = privateKey instanceof ECKey ? JWSAlgorithm.ES384 : JWSAlgorithm.RS384;
            JWSSigner signer = privateKey instanceof ECKey ec ? new ECDSASigner(ec) : new RSASSASigner((RSAKey) privateKey);
            JWTClaimsSet claims = new JWTClaimsSet.Builder()
                    .issuer(clientId).subject(clientId).audience(audience)
                    .jwtID(UUID.randomUUID().toString())
                    .issueTime(Date.from(now)).notBeforeTime(Date.from(now)).expirationTime(Date.from(now.plus(LIFETIME)))
                    .build();
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(privateKey.getKeyID()).type(com.nimbusds.jose.JOSEObjectType.JWT).build(), claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign the client assertion with key " + privateKey.getKeyID(), e);
        }
    }
}
