package dev.roverlogout.epic;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.text.ParseException;
import java.util.Base64;
import java.util.Optional;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import dev.roverlogout.store.DatabaseStartException;
import dev.roverlogout.store.SigningKeyStore;
import io.vertx.core.Future;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.nimbusds.jose.EncryptionMethod;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWEAlgorithm;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.JWEObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.DirectDecrypter;
import com.nimbusds.jose.crypto.DirectEncrypter;

/**
 * The 256-bit key that encrypts private signing keys at rest (JWE {@code dir} + {@code A256GCM}). Configured as
 * {@code security.masterKey}, or generated once into {@code <dataDir>/master.key} (owner-only) and reused.
 * Every replica must use the same key: the database holds a check value (see {@code GatewayStore}) so that a
 * different key is refused at start instead of failing later at the first token request.
 */
public final class MasterKey {
    public static final String FILE_NAME = "master.key";
    private static final Logger log = LoggerFactory.getLogger(MasterKey.class);

    private final SecretKey key;

    private MasterKey(byte[] bytes) {
        this.key = new SecretKeySpec(bytes, "AES");
    }

    /** The configured key, else the one in {@code dataDir} (generated now if absent). Blocking file I/O. */
    public static MasterKey resolve(Optional<String> configured, Path dataDir, boolean externalDatabase) {
        if (configured.isPresent()) {
            return new MasterKey(Base64.getDecoder().decode(configured.get()));
        }
        Path file = dataDir.resolve(FILE_NAME).toAbsolutePath();
        try {
            if (Files.exists(file)) {
                return new MasterKey(Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim()));
            }
            byte[] bytes = new byte[32];
            new SecureRandom().nextBytes(bytes);
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, Base64.getEncoder().encodeToString(bytes) + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            if (externalDatabase) {
                log.warn("Generated a master key in {} although database.url is set: every replica must share one key, "
                        + "set security.masterKey (RLG_SECURITY_MASTERKEY) on all of them", file);
            } else {
                log.info("Generated the master key that encrypts signing keys at rest: {} (owner-only)", file);
            }
            return new MasterKey(bytes);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read or write the master key file " + file + ": " + e.getMessage(), e);
        }
    }

    private static final String CHECK = "master-key-check";

    /**
     * Every replica must encrypt keys under the same master key: the first start stores an encrypted check value in
     * the database, later starts must be able to decrypt it. Fails with {@link DatabaseStartException} (exit 2 at
     * start) when this key is not the database's.
     */
    public Future<Void> verifyAgainst(SigningKeyStore keys) {
        return keys.checkValue()
                .compose(stored -> stored.isPresent() ? Future.succeededFuture(stored.get())
                        : keys.storeCheckValue(encrypt(CHECK, CHECK)))
                .compose(value -> {
                    try {
                        decrypt(CHECK, value);
                        return Future.succeededFuture();
                    } catch (IllegalStateException e) {
                        return Future.failedFuture(new DatabaseStartException("security.masterKey is not the key this "
                                + "database's signing keys are encrypted with; give every replica the same key"));
                    }
                });
    }

    /** Encrypts {@code plaintext}, binding it to {@code keyId} (in the protected header, so authenticated). */
    public String encrypt(String keyId, String plaintext) {
        try {
            JWEObject jwe = new JWEObject(new JWEHeader.Builder(JWEAlgorithm.DIR, EncryptionMethod.A256GCM).keyID(keyId).build(),
                    new Payload(plaintext));
            jwe.encrypt(new DirectEncrypter(key));
            return jwe.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("encryption failed", e);
        }
    }

    /** Decrypts what {@link #encrypt} made for {@code keyId}; fails without revealing anything of the content. */
    public String decrypt(String keyId, String jwe) {
        try {
            JWEObject o = JWEObject.parse(jwe);
            if (!keyId.equals(o.getHeader().getKeyID())) {
                throw new IllegalStateException("encrypted key " + keyId + " is bound to another key id");
            }
            o.decrypt(new DirectDecrypter(key));
            return o.getPayload().toString();
        } catch (ParseException | JOSEException e) {
            throw new IllegalStateException("cannot decrypt the private key " + keyId
                    + ": security.masterKey differs from the one that encrypted it");
        }
    }
}
