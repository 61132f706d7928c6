-- Queue statistics whose cost does not grow with the queue, and the retention cleaner's bookkeeping.

-- Queued jobs per environment, kept exact by the transactions that change them: statement-level triggers on
-- disassociation_job (every writer: ingest, claims, outcomes, rescue, replay, deletes, and any hand-written SQL)
-- append one row per environment whose queued count the statement changed. Appending never waits: a counter row
-- updated by every ingest transaction would serialise all ingest of an environment on that row. Queue statistics
-- fold the deltas into queue_depth now and then (QueueDepthStore.FOLD) and read depth = base + pending deltas:
-- a few rows per environment, whatever the size of the queue.
CREATE TABLE queue_depth (
    environment_id text   PRIMARY KEY,
    queued         bigint NOT NULL
);
CREATE TABLE queue_depth_delta (
    environment_id text   NOT NULL,
    delta          bigint NOT NULL
);

CREATE FUNCTION rlg_queue_depth_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_depth_delta (environment_id, delta)
    SELECT environment_id, count(*) FROM new_jobs WHERE state = 'queued' GROUP BY environment_id;
    RETURN NULL;
END;
$$;

CREATE FUNCTION rlg_queue_depth_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_depth_delta (environment_id, delta)
    SELECT environment_id, sum(d) FROM (
        SELECT environment_id, 1 AS d FROM new_jobs WHERE state = 'queued'
        UNION ALL
        SELECT environment_id, -1 FROM old_jobs WHERE state = 'queued') c
     GROUP BY environment_id HAVING sum(d) <> 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION rlg_queue_depth_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_depth_delta (environment_id, delta)
    SELECT environment_id, -count(*) FROM old_jobs WHERE state = 'queued' GROUP BY environment_id;
    RETURN NULL;
END;
$$;

-- TRUNCATE fires no row or statement DELETE trigger: start again from zero
CREATE FUNCTION rlg_queue_depth_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM queue_depth_delta;
    DELETE FROM queue_depth;
    RETURN NULL;
END;
$$;

-- the triggers first: their lock makes writers wait until this migration commits, so the count below is exact
CREATE TRIGGER job_queue_depth_insert AFTER INSERT ON disassociation_job
    REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION rlg_queue_depth_inserted();
CREATE TRIGGER job_queue_depth_update AFTER UPDATE ON disassociation_job
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION rlg_queue_depth_updated();
CREATE TRIGGER job_queue_depth_delete AFTER DELETE ON disassociation_job
    REFERENCING OLD TABLE AS old_jobs FOR EACH STATEMENT EXECUTE FUNCTION rlg_queue_depth_deleted();
CREATE TRIGGER job_queue_depth_truncate AFTER TRUNCATE ON disassociation_job
    FOR EACH STATEMENT EXECUTE FUNCTION rlg_queue_depth_truncated();

INSERT INTO queue_depth (environment_id, queued)
SELECT environment_id, count(*) FROM disassociation_job WHERE state = 'queued' GROUP BY environment_id;

-- One row per run of the retention cleaner (RetentionCleaner), whichever replica ran it: what GET /admin/retention
-- and rlg_retention_last_run_timestamp_seconds show. The counts grow batch by batch, so a stopped or failed run
-- shows how far it got. The cleaner keeps the newest 1000 runs.
CREATE TABLE retention_run (
    id                   bigserial PRIMARY KEY,
    replica              text        NOT NULL,
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    outcome              text        NOT NULL DEFAULT 'running'
                         CHECK (outcome IN ('running', 'completed', 'stopped', 'failed', 'abandoned')),
    device_events        bigint      NOT NULL DEFAULT 0,
    jobs                 bigint      NOT NULL DEFAULT 0,
    job_attempts         bigint      NOT NULL DEFAULT 0,
    status_changes       bigint      NOT NULL DEFAULT 0,
    error                text,
    CHECK ((outcome = 'running') = (finished_at IS NULL))
);
