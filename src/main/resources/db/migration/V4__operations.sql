-- Issue 4, operations: lanes spread over replicas, lane state visible from any replica, attempts recorded per call.

-- Replicas that dispatch. Each heartbeats at every lease renewal (a third of dispatch.leaseDuration); a replica
-- whose heartbeat is older than a lease period no longer counts when the lanes are shared out. Dispatch-disabled
-- replicas do not appear.
CREATE TABLE gateway_replica (
    id           text PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- What the owner's lane reported at its last renewal (rate in force, circuit state), so that GET /admin/queue
-- on any replica shows it.
ALTER TABLE lane_lease
    ADD COLUMN current_rate double precision,
    ADD COLUMN circuit      text CHECK (circuit IN ('closed', 'open', 'half_open')),
    ADD COLUMN reported_at  timestamptz;

-- Attempts are written with every batch of outcomes, on the dispatch hot path: no per-row foreign-key trigger,
-- as on the other hot tables. Deleting an environment deletes its jobs' attempts first (EnvironmentStore).
ALTER TABLE job_attempt DROP CONSTRAINT job_attempt_job_id_fkey;
