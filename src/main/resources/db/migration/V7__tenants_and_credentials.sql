-- Tenants (customer organisations) and the ingest credentials each tenant's lockers use.

CREATE TABLE tenant (
    id           text        PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{1,64}$'),
    display_name text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- every environment that exists before tenants did belongs to it, and so does the static auth.ingestToken
INSERT INTO tenant (id, display_name) VALUES ('default', 'Default');

-- An environment belongs to exactly one tenant, for good (the API refuses to move it). The column default is for
-- replicas of the previous version during a rolling upgrade; this version always names the tenant.
ALTER TABLE environment ADD COLUMN tenant_id text NOT NULL DEFAULT 'default' REFERENCES tenant (id);
CREATE INDEX environment_by_tenant ON environment (tenant_id);

-- Ingest credentials: a bearer secret per locker fleet (or per site), scoped to its tenant's environments (all of
-- them, now and later, when environments is NULL), stored only as its SHA-256 digest. The secret has 256 bits of
-- randomness, so a plain digest is enough: there is nothing to guess. last_used_at is written at most once a second
-- per replica for all credentials used meanwhile, never per request. A revoked credential stays for the record.
CREATE TABLE ingest_credential (
    id                    text        PRIMARY KEY CHECK (id ~ '^cred_[A-Za-z0-9]{10,40}$'),
    tenant_id             text        NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
    name                  text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix                text        NOT NULL,
    secret_sha256         bytea       NOT NULL UNIQUE,
    environments          text[],
    rate_limit_per_second integer     NOT NULL CHECK (rate_limit_per_second >= 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    last_used_at          timestamptz,
    revoked_at            timestamptz
);
CREATE INDEX ingest_credential_by_tenant ON ingest_credential (tenant_id, created_at);

-- Every replica keeps the active credentials in memory (IngestCredentials): a new, changed or revoked credential is
-- announced on commit, so a revocation is refused everywhere at once (a replica that missed the notification
-- catches up within a second). Not on last_used_at: that is bookkeeping, not a change.
CREATE FUNCTION rlg_notify_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rlg_credentials_changed', COALESCE(NEW.id, OLD.id));
    RETURN NULL;
END;
$$;
CREATE TRIGGER ingest_credential_changed AFTER INSERT OR DELETE OR UPDATE OF revoked_at, environments, rate_limit_per_second
    ON ingest_credential FOR EACH ROW EXECUTE FUNCTION rlg_notify_credentials_changed();
