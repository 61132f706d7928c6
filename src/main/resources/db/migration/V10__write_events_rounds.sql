-- rlg_write_events (V9) computes each event's round itself and each round reads only its own events. V9 took the
-- rounds from the caller and unnested the whole group in every round: a group holding many events of one device
-- (1,000 rounds) cost group size x rounds and held its device locks for seconds, past the commit timeout; and an
-- event with a round the caller got wrong would have been skipped silently. Same arguments otherwise, same result.
DROP FUNCTION rlg_write_events(text[], text[], text[], text[], timestamptz[], text[], text[], text[], int[]);

CREATE FUNCTION rlg_write_events(
    p_environment text[], p_event text[], p_type text[], p_device text[], p_occurred timestamptz[],
    p_user text[], p_locker text[], p_request text[])
RETURNS TABLE (event_position bigint, event_outcome text, event_job_id bigint, racing_job_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_envs      text[];
    v_locked    text[];
    v_queueing  text[];
    v_rounds    int;
    v_order     int[];
    v_start     int[];
    v_pos       int[];
    v_nestloop  text := current_setting('enable_nestloop');
    a_fresh     bigint[];
    a_job_id    bigint[];
    a_job_env   text[];
    a_job_dev   text[];
    a_job_new   boolean[];
    a_fence_ord bigint[];
    a_fence_id  bigint[];
    a_fence_st  text[];
    r_ord       bigint[];
    r_outcome   text[];
    r_job       bigint[];
    r_racing    bigint[];
    o_ord       bigint[] := '{}';
    o_outcome   text[] := '{}';
    o_job       bigint[] := '{}';
    o_racing    bigint[] := '{}';
BEGIN
    -- environments: a share lock (a concurrent delete or status change waits; one deleted before is gone)
    SELECT array_agg(DISTINCT e ORDER BY e) INTO v_envs FROM unnest(p_environment) e;
    SELECT coalesce(array_agg(l.id), '{}'), coalesce(array_agg(l.id) FILTER (WHERE l.status IN ('READY', 'PAUSED')), '{}')
      INTO v_locked, v_queueing
      FROM (SELECT id, status FROM environment WHERE id = ANY (v_envs) ORDER BY id FOR SHARE) l;
    IF cardinality(v_locked) < cardinality(v_envs) THEN
        RAISE EXCEPTION USING ERRCODE = 'RL001', MESSAGE = 'unknown environments',
            DETAIL = (SELECT string_agg(e, ',' ORDER BY e) FROM unnest(v_envs) e WHERE e <> ALL (v_locked));
    END IF;

    -- devices: every device's row locked in key order (two writers never deadlock)
    INSERT INTO device AS d (environment_id, device_id)
    SELECT DISTINCT t.environment_id, t.device_id FROM unnest(p_environment, p_device) AS t(environment_id, device_id)
     ORDER BY 1, 2
    ON CONFLICT (environment_id, device_id) DO UPDATE SET last_event_at = now();

    -- rounds: a device's k-th event of the group goes to round k (arrival order per device). v_order holds the
    -- positions by round, v_start where each round begins in it: each round reads only its own events.
    WITH r AS (
      SELECT i.ord::int AS ord, row_number() OVER (PARTITION BY i.environment_id, i.device_id ORDER BY i.ord)::int AS round
        FROM unnest(p_environment, p_device) WITH ORDINALITY AS i(environment_id, device_id, ord)
    ),
    c AS (SELECT round, count(*)::int AS n FROM r GROUP BY round),
    s AS (SELECT round, 1 + coalesce(sum(n) OVER (ORDER BY round ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::int AS first
            FROM c)
    SELECT (SELECT array_agg(ord ORDER BY round, ord) FROM r), (SELECT array_agg(first ORDER BY round) FROM s),
           (SELECT max(round) FROM c)
      INTO v_order, v_start, v_rounds;

    FOR r IN 1 .. coalesce(v_rounds, 0) LOOP
        v_pos := v_order[v_start[r] : coalesce(v_start[r + 1] - 1, cardinality(v_order))];
        -- the round's jobs: new, coalesced, cancelled. Every per-event lookup is a correlated LIMIT 1 subquery, an
        -- index probe per event even under a generic plan made while the tables were empty. (The arguments are
        -- expanded arrays inside the function: p_x[k] costs the same for any k.)
        WITH input AS (
          SELECT x.ord::bigint AS ord, p_environment[x.ord] AS environment_id, p_event[x.ord] AS event_id,
                 p_type[x.ord] AS type, p_device[x.ord] AS device_id, p_occurred[x.ord] AS occurred_at,
                 p_request[x.ord] AS request_id
            FROM unnest(v_pos) AS x(ord)
        ),
        fresh AS (
          SELECT i.* FROM input i
          WHERE (SELECT true FROM device_event d
                  WHERE d.environment_id = i.environment_id AND d.event_id = i.event_id LIMIT 1) IS NULL
        ),
        due AS (
          SELECT f.* FROM fresh f
          WHERE f.type = 'CHECK_IN' AND f.environment_id = ANY (v_queueing)
            AND (SELECT true FROM device_event d
                  WHERE d.device_id = f.device_id AND d.environment_id = f.environment_id
                    AND d.occurred_at > f.occurred_at AND d.type = 'CHECK_OUT' LIMIT 1) IS NULL
        ),
        job AS (
          INSERT INTO disassociation_job AS j (environment_id, device_id, checked_in_at, received_at, next_attempt_at, request_id)
          SELECT environment_id, device_id, occurred_at, now(), now(), request_id FROM due
          ORDER BY environment_id, device_id
          ON CONFLICT (environment_id, device_id) WHERE state = 'queued'
          DO UPDATE SET checked_in_at = GREATEST(j.checked_in_at, EXCLUDED.checked_in_at)
          RETURNING j.id, j.environment_id, j.device_id, (j.xmax = 0) AS created
        ),
        open_jobs AS (
          SELECT f.ord, f.event_id, f.occurred_at, o.id
            FROM fresh f CROSS JOIN LATERAL (
              (SELECT j.id FROM disassociation_job j
                WHERE j.environment_id = f.environment_id AND j.device_id = f.device_id
                  AND j.state = 'queued' AND j.checked_in_at < f.occurred_at)
              UNION ALL
              (SELECT j.id FROM disassociation_job j
                WHERE j.environment_id = f.environment_id AND j.device_id = f.device_id
                  AND j.state = 'sending' AND j.checked_in_at < f.occurred_at)) o
           WHERE f.type = 'CHECK_OUT'
        ),
        fenced AS (
          -- one statement for both states: if a lane claimed the job after this statement's snapshot, the row is
          -- re-read (READ COMMITTED) and the fence lands on the 'sending' job instead of being lost
          UPDATE disassociation_job j
             SET state = CASE WHEN j.state = 'queued' THEN 'cancelled' ELSE j.state END,
                 finished_at = CASE WHEN j.state = 'queued' THEN now() ELSE j.finished_at END,
                 last_error = CASE WHEN j.state = 'queued' THEN 'cancelled by check-out event ' || o.event_id
                                   ELSE j.last_error END,
                 fenced_at = GREATEST(j.fenced_at, o.occurred_at)
            FROM open_jobs o
           WHERE j.id = o.id AND j.state IN ('queued', 'sending')
          RETURNING j.id, o.ord, j.state
        )
        SELECT f.ords, j.ids, j.envs, j.devices, j.created, fe.ords, fe.ids, fe.states
          INTO a_fresh, a_job_id, a_job_env, a_job_dev, a_job_new, a_fence_ord, a_fence_id, a_fence_st
          FROM (SELECT array_agg(ord) AS ords FROM fresh) f,
               (SELECT array_agg(id) AS ids, array_agg(environment_id) AS envs, array_agg(device_id) AS devices,
                       array_agg(created) AS created FROM job) j,
               (SELECT array_agg(ord) AS ords, array_agg(id) AS ids, array_agg(state) AS states FROM fenced) fe;

        CONTINUE WHEN a_fresh IS NULL; -- all duplicates

        -- the round's events, each with what it did. Matching events to jobs is a join of in-memory rows: hash joins
        -- (a nested loop over them, which a generic plan would choose, is quadratic in the round's size). Only
        -- this statement runs without nested loops: it reads no table.
        PERFORM set_config('enable_nestloop', 'off', true);
        WITH fresh AS (
          SELECT x.ord, p_environment[x.ord] AS environment_id, p_event[x.ord] AS event_id, p_type[x.ord] AS type,
                 p_device[x.ord] AS device_id, p_occurred[x.ord] AS occurred_at, p_user[x.ord] AS user_id,
                 p_locker[x.ord] AS locker_id, p_request[x.ord] AS request_id
            FROM unnest(a_fresh) AS x(ord)
        ),
        job AS (
          SELECT * FROM unnest(a_job_id, a_job_env, a_job_dev, a_job_new) AS x(id, environment_id, device_id, created)
        ),
        fence AS (
          SELECT x.ord, min(x.id) FILTER (WHERE x.state = 'cancelled') AS cancelled,
                 min(x.id) FILTER (WHERE x.state <> 'cancelled') AS racing
            FROM unnest(a_fence_ord, a_fence_id, a_fence_st) AS x(ord, id, state) GROUP BY x.ord
        ),
        result AS (
          SELECT f.*,
                 CASE WHEN f.type = 'CHECK_IN' THEN
                        CASE WHEN f.environment_id <> ALL (v_queueing) THEN 'skipped'
                             WHEN jb.id IS NULL THEN 'superseded'
                             WHEN jb.created THEN 'queued' ELSE 'coalesced' END
                      WHEN fc.cancelled IS NOT NULL THEN 'cancelled_job'
                      WHEN fc.racing IS NOT NULL THEN 'cancel_race'
                      ELSE 'recorded' END AS outcome,
                 CASE WHEN f.type = 'CHECK_IN' THEN jb.id ELSE coalesce(fc.cancelled, fc.racing) END AS job_id,
                 fc.racing
            FROM fresh f
            LEFT JOIN job jb ON f.type = 'CHECK_IN' AND jb.environment_id = f.environment_id AND jb.device_id = f.device_id
            LEFT JOIN fence fc ON fc.ord = f.ord
        ),
        stored AS (
          INSERT INTO device_event (environment_id, event_id, type, device_id, occurred_at, user_id, locker_id,
                                    request_id, outcome, job_id)
          SELECT environment_id, event_id, type, device_id, occurred_at, user_id, locker_id, request_id, outcome, job_id
            FROM result
        )
        SELECT array_agg(ord), array_agg(outcome), array_agg(job_id), array_agg(racing)
          INTO r_ord, r_outcome, r_job, r_racing FROM result;
        PERFORM set_config('enable_nestloop', v_nestloop, true);

        o_ord := o_ord || r_ord;
        o_outcome := o_outcome || r_outcome;
        o_job := o_job || r_job;
        o_racing := o_racing || r_racing;
    END LOOP;

    -- wake the lanes of environments with new jobs; tell the lane of a job being sent that a check-out fenced it
    -- (delivered on commit; EventStore.JOBS_QUEUED_CHANNEL, EventStore.JOBS_FENCED_CHANNEL)
    PERFORM pg_notify('rlg_jobs_queued', q.e)
       FROM (SELECT DISTINCT p_environment[x.pos::int] AS e FROM unnest(o_ord, o_outcome) AS x(pos, oc)
              WHERE x.oc = 'queued') q;
    PERFORM pg_notify('rlg_jobs_fenced', p_environment[x.pos::int] || ':' || x.racing)
       FROM unnest(o_ord, o_racing) AS x(pos, racing) WHERE x.racing IS NOT NULL;
    RETURN QUERY SELECT * FROM unnest(o_ord, o_outcome, o_job, o_racing);
END;
$$;
