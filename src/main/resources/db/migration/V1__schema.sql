-- Rover Logout Gateway schema, designed for the whole system (ingest, Epic keys, dispatch lanes).
-- Hot queries and the index that serves each are named next to the index.

-- Epic environments: one customer Epic Interconnect instance each, with its own rate limit and keys.
CREATE TABLE environment (
    id                    text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{1,64}$'),
    display_name          text        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    interconnect_url      text        NOT NULL,
    instance              text        NOT NULL DEFAULT '',
    client_id             text        NOT NULL CHECK (length(client_id) BETWEEN 1 AND 200),
    rate_limit_per_second double precision NOT NULL CHECK (rate_limit_per_second > 0),
    burst                 integer     NOT NULL CHECK (burst >= 1),
    max_concurrency       integer     NOT NULL CHECK (max_concurrency >= 1),
    signing_algorithm     text        NOT NULL DEFAULT 'ES384' CHECK (signing_algorithm IN ('ES384', 'RS384')),
    disassociate_path     text        NOT NULL,
    token_audience        text,
    allow_insecure        boolean     NOT NULL DEFAULT false,
    status                text        NOT NULL DEFAULT 'PENDING'
                          CHECK (status IN ('PENDING', 'READY', 'PAUSED', 'DISABLED')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Every status change: who or what, when, why (admin route, readiness prober, ...).
CREATE TABLE environment_status_change (
    id             bigserial PRIMARY KEY,
    environment_id text        NOT NULL REFERENCES environment (id) ON DELETE CASCADE,
    from_status    text,
    to_status      text        NOT NULL,
    actor          text        NOT NULL,
    reason         text,
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX environment_status_change_by_env ON environment_status_change (environment_id, changed_at DESC);

-- Signing keys per environment. The private JWK is stored encrypted (JWE dir/A256GCM under the master key).
CREATE TABLE signing_key (
    kid            text PRIMARY KEY,
    environment_id text        NOT NULL REFERENCES environment (id) ON DELETE CASCADE,
    algorithm      text        NOT NULL CHECK (algorithm IN ('ES384', 'RS384')),
    public_jwk     text        NOT NULL,
    private_jwe    text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    signing_from   timestamptz NOT NULL,
    last_used_at   timestamptz,
    retired_at     timestamptz
);
CREATE INDEX signing_key_by_env ON signing_key (environment_id, created_at DESC);

-- Disassociation jobs: one Epic DisassociateMobileDevice call each.
-- No foreign key to environment on this table and on device_event: they are the ingest hot path, and a
-- per-row RI trigger costs more than the rest of the row. Integrity is kept by the writers instead: ingest
-- locks the environment rows it writes for (FOR SHARE: a concurrent delete waits, and then ingest sees the row
-- gone), and deleting an environment deletes its jobs and events in the same transaction (EnvironmentStore.DELETE_*).
-- State machine: queued -> sending -> done | not_associated | failed | expired ; queued -> cancelled | expired ;
-- sending -> queued (retry, or rescue of an expired lease). 'failed' rows are the dead letters.
CREATE TABLE disassociation_job (
    id                bigserial PRIMARY KEY,
    environment_id    text        NOT NULL,
    device_id         text        NOT NULL,
    state             text        NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'sending', 'done', 'not_associated', 'failed', 'expired', 'cancelled')),
    checked_in_at     timestamptz NOT NULL,   -- locker occurredAt of the newest check-in coalesced into this job
    received_at       timestamptz NOT NULL,   -- when the first check-in of this job was committed
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at   timestamptz NOT NULL,
    lease_owner       text,
    lease_expires_at  timestamptz,
    lease_fence       bigint,
    -- occurredAt of a check-out that arrived while this job was being sent: the call may already be on its way
    -- and cannot be taken back, but a retry or a rescue must cancel the job instead of sending it again
    fenced_at         timestamptz,
    last_status       integer,
    last_error        text,
    finished_at       timestamptz,
    request_id        text,
    CHECK ((state = 'sending') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CHECK ((state IN ('queued', 'sending')) = (finished_at IS NULL))
);
-- coalescing: at most one queued job per device and environment (ON CONFLICT target)
CREATE UNIQUE INDEX job_queued_per_device ON disassociation_job (environment_id, device_id) WHERE state = 'queued';
-- lane claim: due jobs of one environment in due order; also queue depth / oldest age per environment
CREATE INDEX job_claim ON disassociation_job (environment_id, next_attempt_at) WHERE state = 'queued';
-- check-out race detection: is this device's job already being sent?
CREATE INDEX job_sending_per_device ON disassociation_job (environment_id, device_id) WHERE state = 'sending';
-- rescue: leases that ran out in 'sending'
CREATE INDEX job_lease_expiry ON disassociation_job (lease_expires_at) WHERE state = 'sending';
-- dead letters and "done/failed in the last 5 minutes"
CREATE INDEX job_finished ON disassociation_job (environment_id, finished_at DESC) WHERE finished_at IS NOT NULL;

-- Devices seen per environment. Ingest locks a device's row (upsert, in key order) before it applies the
-- device's events, so that concurrent ingest transactions (several per replica, several replicas) serialise
-- per device and never per environment: a check-in can never miss a concurrent check-out that fences it.
CREATE TABLE device (
    environment_id text        NOT NULL,
    device_id      text        NOT NULL,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    last_event_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (environment_id, device_id)
) WITH (fillfactor = 80);

-- Every check-in / check-out as received, for idempotency, fencing and audit.
-- fillfactor leaves room for HOT updates of job_id/outcome (no indexed column changes).
CREATE TABLE device_event (
    environment_id text        NOT NULL,
    event_id       text        NOT NULL,
    type           text        NOT NULL CHECK (type IN ('CHECK_IN', 'CHECK_OUT')),
    device_id      text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    user_id        text,
    locker_id      text,
    -- what the event did: a new job (queued), merged into a queued one (coalesced), environment not READY/PAUSED
    -- (skipped), a later check-out already known (superseded), a queued job cancelled (cancelled_job),
    -- the job was already being sent (cancel_race), a check-out with nothing to cancel (recorded)
    outcome        text        NOT NULL
                   CHECK (outcome IN ('queued', 'coalesced', 'skipped', 'superseded', 'cancelled_job', 'cancel_race', 'recorded')),
    job_id         bigint,
    request_id     text,
    -- idempotency: one row per (environment, eventId)
    PRIMARY KEY (environment_id, event_id)
) WITH (fillfactor = 90);
-- fencing ("is there a later check-out of this device?") and device history, newest first
CREATE INDEX device_event_by_device ON device_event (device_id, environment_id, occurred_at DESC);

-- Attempts of each job (Epic calls), for the device history.
CREATE TABLE job_attempt (
    id             bigserial PRIMARY KEY,
    job_id         bigint      NOT NULL REFERENCES disassociation_job (id) ON DELETE CASCADE,
    attempt        integer     NOT NULL,
    replica        text        NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    http_status    integer,
    outcome        text        NOT NULL CHECK (outcome IN ('done', 'not_associated', 'retry', 'failed', 'expired')),
    error          text,
    request_id     text
);
CREATE INDEX job_attempt_by_job ON job_attempt (job_id, attempt);

-- Lane ownership: exactly one replica dispatches an environment at a time; fence increases on every takeover.
CREATE TABLE lane_lease (
    environment_id text PRIMARY KEY REFERENCES environment (id) ON DELETE CASCADE,
    owner          text,
    expires_at     timestamptz,
    fence          bigint NOT NULL DEFAULT 0
);
