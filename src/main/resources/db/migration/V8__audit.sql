-- The audit trail of the management API: one row per change (or refused attempt at one) that reached a route.
-- tenant_id is not a foreign key: the entries of a deleted tenant stay until retention.audit removes them.
-- changes holds the fields before and after, never a secret or key material (the routes build it from public views).
CREATE TABLE audit_entry (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    actor_name  text,
    via         text        NOT NULL CHECK (via IN ('oidc', 'static-admin-token')),
    tenant_id   text,
    action      text        NOT NULL,
    target      text        NOT NULL,
    request_id  text        NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('success', 'refused', 'error')),
    status      integer     NOT NULL,
    changes     jsonb       NOT NULL DEFAULT '{}'
);
-- newest first, per tenant or over all; the retention cleaner walks the primary key in order
CREATE INDEX audit_entry_by_tenant ON audit_entry (tenant_id, id DESC);
CREATE INDEX audit_entry_at ON audit_entry (at);

ALTER TABLE retention_run ADD COLUMN audit_entries bigint NOT NULL DEFAULT 0;
