package dev.roverlogout.epic;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.UUID;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;

/**
 * Signing key pairs for Epic client assertions: ES384 on P-384 (the default Epic recommends with a JWKS URL) or
 * RS384 with 3072-bit RSA. Generation is CPU work (RSA takes up to a second): call it off the event loop.
 * A private key leaves this class only encrypted under the {@link MasterKey}.
 */
public final class SigningKeys {
    private static final int RSA_BITS = 3072;

    private SigningKeys() {
    }

    /** A new key pair, its public JWK and its private JWK encrypted for storage. Blocking (CPU). */
    public record Generated(String kid, String algorithm, String publicJwk, String encryptedPrivateJwk) {
    }

    public static Generated generate(String algorithm, MasterKey masterKey) {
        String kid = UUID.randomUUID().toString();
        try {
            JWK jwk = switch (algorithm) {
                case "ES384" -> new ECKeyGenerator(Curve.P_384).keyID(kid).keyUse(KeyUse.SIGNATURE)
                        .algorithm(JWSAlgorithm.ES384).generate();
                case "RS384" -> new RSAKeyGenerator(RSA_BITS).keyID(kid).keyUse(KeyUse.SIGNATURE)
                        .algorithm(JWSAlgorithm.RS384).generate();
                default -> throw new IllegalArgumentException("unsupported signing algorithm " + algorithm);
            };
            return new Generated(kid, algorithm, jwk.toPublicJWK().toJSONString(),
                    masterKey.encrypt(kid, jwk.toJSONString()));
        } catch (JOSEException e) {
            throw new IllegalStateException("key generation failed for " + algorithm, e);
        }
    }

    /** The private JWK of a stored key, decrypted. Keep it in memory only. */
    public static JWK privateJwk(String kid, String encrypted, MasterKey masterKey) {
        try {
            return JWK.parse(masterKey.decrypt(kid, encrypted));
        } catch (java.text.ParseException e) {
            throw new IllegalStateException("stored key " + kid + " is not a JWK");
        }
    }

    /**
     * A self-signed X.509 certificate (PEM) of the key, for Epic environments that still register an uploaded
     * public key instead of a JWKS URL. Valid from an hour ago for {@code validity}.
     */
    public static String certificatePem(JWK privateJwk, String subject, Duration validity) {
        try {
            KeyPair pair = privateJwk instanceof ECKey ec ? ec.toKeyPair() : ((RSAKey) privateJwk).toKeyPair();
            String signature = privateJwk instanceof ECKey ? "SHA384withECDSA" : "SHA384withRSA";
            X500Name name = new X500Name("CN=" + subject.replaceAll("[,=+<>#;\"\\\\]", "_"));
            Instant now = Instant.now();
            X509CertificateHolder cert = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), name, pair.getPublic())
                    .build(new JcaContentSignerBuilder(signature).build(pair.getPrivate()));
            String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded());
            return "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n";
        } catch (JOSEException | OperatorCreationException | java.io.IOException e) {
            throw new IllegalStateException("cannot build the certificate", e);
        }
    }
}
