package dev.roverlogout.store;

import java.time.OffsetDateTime;

import io.vertx.sqlclient.Row;

/** A stored signing key: public JWK in clear, private JWK encrypted (JWE) under the master key. */
public record SigningKeyRow(String kid, String environmentId, String algorithm, String publicJwk, String privateJwe,
                            OffsetDateTime signingFrom, OffsetDateTime createdAt) {

    static final String COLUMNS = "kid, environment_id, algorithm, public_jwk, private_jwe, signing_from, created_at";

    static SigningKeyRow from(Row r) {
        return new SigningKeyRow(r.getString(0), r.getString(1), r.getString(2), r.getString(3), r.getString(4),
                r.getOffsetDateTime(5), r.getOffsetDateTime(6));
    }
}
