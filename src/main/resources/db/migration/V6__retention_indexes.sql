-- Indexes for retention and queue statistics.
-- Built in this migration's transaction: while it runs, writes to device_event and disassociation_job wait (about a
-- second per million rows here). On a large installation, build them beforehand without blocking anyone and this
-- migration then finds them (docs/operations.md, "Upgrading"):
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS device_event_received ON device_event (received_at);
--   CREATE INDEX CONCURRENTLY IF NOT EXISTS job_queued_age ON disassociation_job (environment_id, received_at) WHERE state = 'queued';
-- (Flyway cannot run CREATE INDEX CONCURRENTLY itself without deadlocking on its own lock when replicas start together.)

-- retention: device events by the time they were received, oldest first (RetentionStore.DELETE_EVENTS)
CREATE INDEX IF NOT EXISTS device_event_received ON device_event (received_at);

-- queue statistics: the oldest queued job of an environment is the first entry of this index (QueueDepthStore.READ)
CREATE INDEX IF NOT EXISTS job_queued_age ON disassociation_job (environment_id, received_at) WHERE state = 'queued';
