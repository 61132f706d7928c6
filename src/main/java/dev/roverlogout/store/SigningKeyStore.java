package dev.roverlogout.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/** Signing keys per environment, and the master-key check value shared by all replicas. */
public final class SigningKeyStore {
    static final String INSERT = "INSERT INTO signing_key (kid, environment_id, algorithm, public_jwk, private_jwe, "
            + "signing_from) VALUES ($1, $2, $3, $4, $5, $6)";
    static final String OF_ENVIRONMENT = "SELECT " + SigningKeyRow.COLUMNS + " FROM signing_key WHERE environment_id = $1 "
            + "ORDER BY signing_from, created_at";
    static final String CHECK_VALUE = "SELECT value FROM gateway_setting WHERE name = 'master_key_check'";
    static final String SET_CHECK_VALUE = "INSERT INTO gateway_setting (name, value) VALUES ('master_key_check', $1) "
            + "ON CONFLICT (name) DO NOTHING";

    private final Pool pool;

    public SigningKeyStore(Pool pool) {
        this.pool = pool;
    }

    /** Inserts on {@code client} (a pool, or a connection inside a transaction). */
    public static Future<Void> insert(SqlClient client, SigningKeyRow key) {
        return client.preparedQuery(INSERT).execute(Tuple.of(key.kid(), key.environmentId(), key.algorithm(),
                key.publicJwk(), key.privateJwe(), key.signingFrom())).mapEmpty();
    }

    public Future<Void> insert(SigningKeyRow key) {
        return insert(pool, key);
    }

    /** Every key of the environment, oldest signing start first. */
    public Future<List<SigningKeyRow>> keys(String environmentId) {
        return pool.preparedQuery(OF_ENVIRONMENT).execute(Tuple.of(environmentId)).map(rows -> {
            List<SigningKeyRow> keys = new ArrayList<>();
            rows.forEach(r -> keys.add(SigningKeyRow.from(r)));
            return keys;
        });
    }

    /** The stored master-key check value, if one was stored. */
    public Future<Optional<String>> checkValue() {
        return pool.query(CHECK_VALUE).execute().map(rows ->
                rows.size() == 0 ? Optional.empty() : Optional.of(rows.iterator().next().getString(0)));
    }

    /** Stores the check value unless one exists (the first replica wins); completes with the stored one. */
    public Future<String> storeCheckValue(String value) {
        return pool.preparedQuery(SET_CHECK_VALUE).execute(Tuple.of(value))
                .compose(x -> checkValue()).map(Optional::orElseThrow);
    }
}
