-- renderq PostgreSQL schema, version 2: a job has a kind and an input (as
-- SQLite's version 3).
--
-- * kind: 'scene' for the built-in path tracer, else an operator's kind; the
--   scene columns (width, height, samples, max_depth) and samples_per_second
--   belong to scene jobs only.
-- * job_scenes becomes job_inputs (seq, input).
-- * jobs_owner_state_seq goes; jobs_queued covers owner_id for an owner's
--   queued count.
--
-- The table-level CHECK constraints of version 1 were unnamed; they are
-- dropped by what they are and added again under names.

DROP VIEW queue;
DROP VIEW recent_failures;

DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'jobs'::regclass AND contype = 'c' LOOP
    EXECUTE format('ALTER TABLE jobs DROP CONSTRAINT %I', c.conname);
  END LOOP;
END
$$;

ALTER TABLE jobs
  ADD COLUMN kind text NOT NULL DEFAULT 'scene',
  ALTER COLUMN width DROP NOT NULL,
  ALTER COLUMN height DROP NOT NULL,
  ALTER COLUMN samples DROP NOT NULL,
  ALTER COLUMN max_depth DROP NOT NULL,
  ADD CONSTRAINT jobs_id_v4 CHECK (
    substr(id::text, 15, 1) = '4' AND substr(id::text, 20, 1) IN ('8', '9', 'a', 'b')),
  ADD CONSTRAINT jobs_state_known
    CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  ADD CONSTRAINT jobs_kind_name CHECK (kind ~ '^[a-z][a-z0-9-]{0,31}$'),
  ADD CONSTRAINT jobs_attempts CHECK (attempts >= 0),
  ADD CONSTRAINT jobs_stalled_attempts CHECK (stalled_attempts BETWEEN 0 AND attempts),
  ADD CONSTRAINT jobs_progress CHECK (progress BETWEEN 0 AND 1),
  ADD CONSTRAINT jobs_created_at CHECK (created_at >= 0),
  ADD CONSTRAINT jobs_started_at CHECK (started_at >= created_at),
  ADD CONSTRAINT jobs_finished_at CHECK (finished_at >= created_at),
  ADD CONSTRAINT jobs_width CHECK (width BETWEEN 1 AND 4096),
  ADD CONSTRAINT jobs_height CHECK (height BETWEEN 1 AND 4096),
  ADD CONSTRAINT jobs_samples CHECK (samples BETWEEN 1 AND 65536),
  ADD CONSTRAINT jobs_max_depth CHECK (max_depth BETWEEN 1 AND 64),
  ADD CONSTRAINT jobs_cost_units CHECK (cost_units >= 0),
  ADD CONSTRAINT jobs_lease_id CHECK (lease_id > 0),
  ADD CONSTRAINT jobs_checkpoint_samples
    CHECK (checkpoint_samples >= 0 AND (samples IS NULL OR checkpoint_samples <= samples)),
  ADD CONSTRAINT jobs_attempt_from_samples
    CHECK (attempt_from_samples BETWEEN 0 AND checkpoint_samples),
  ADD CONSTRAINT jobs_error_code CHECK (error_code <> ''),
  ADD CONSTRAINT jobs_render_seconds CHECK (render_seconds >= 0),
  ADD CONSTRAINT jobs_samples_per_second CHECK (samples_per_second >= 0),
  ADD CONSTRAINT jobs_result_etag CHECK (result_etag <> ''),
  -- A lease (and its heartbeat) exists exactly while the job runs.
  ADD CONSTRAINT jobs_lease_iff_running CHECK ((state = 'running') = (lease_id IS NOT NULL)),
  ADD CONSTRAINT jobs_heartbeat_iff_running
    CHECK ((state = 'running') = (heartbeat_at IS NOT NULL)),
  ADD CONSTRAINT jobs_running_has_worker CHECK (state <> 'running' OR worker IS NOT NULL),
  ADD CONSTRAINT jobs_queued_not_started CHECK (state <> 'queued' OR started_at IS NULL),
  ADD CONSTRAINT jobs_started CHECK (state NOT IN ('running', 'succeeded') OR started_at IS NOT NULL),
  ADD CONSTRAINT jobs_finished_iff_terminal
    CHECK ((state IN ('succeeded', 'failed', 'canceled')) = (finished_at IS NOT NULL)),
  ADD CONSTRAINT jobs_error_iff_failed CHECK ((state = 'failed') = (error_code IS NOT NULL)),
  ADD CONSTRAINT jobs_error_message CHECK ((error_code IS NULL) = (error_message IS NULL)),
  ADD CONSTRAINT jobs_result_iff_succeeded
    CHECK ((state = 'succeeded') = (result_etag IS NOT NULL)),
  ADD CONSTRAINT jobs_succeeded_reports_run
    CHECK (state <> 'succeeded' OR (progress = 1 AND device IS NOT NULL AND
                                    render_seconds IS NOT NULL AND
                                    (kind <> 'scene' OR samples_per_second IS NOT NULL))),
  ADD CONSTRAINT jobs_no_run_figures_before_the_end
    CHECK (state NOT IN ('queued', 'running') OR
           (device IS NULL AND render_seconds IS NULL AND samples_per_second IS NULL)),
  ADD CONSTRAINT jobs_queued_not_canceling CHECK (state <> 'queued' OR NOT cancel_requested),
  ADD CONSTRAINT jobs_finished_keeps_no_checkpoint
    CHECK (state IN ('queued', 'running') OR checkpoint_samples = 0),
  ADD CONSTRAINT jobs_finished_after_started
    CHECK (started_at IS NULL OR finished_at IS NULL OR finished_at >= started_at),
  -- A scene job's shape is all there; other kinds have none, and no samples/s.
  ADD CONSTRAINT jobs_scene_shape CHECK ((kind = 'scene') = (width IS NOT NULL)),
  ADD CONSTRAINT jobs_scene_shape_whole
    CHECK ((width IS NULL) = (height IS NULL) AND (width IS NULL) = (samples IS NULL) AND
           (width IS NULL) = (max_depth IS NULL)),
  ADD CONSTRAINT jobs_samples_per_second_scene_only
    CHECK (kind = 'scene' OR samples_per_second IS NULL);

ALTER TABLE job_scenes RENAME TO job_inputs;
ALTER TABLE job_inputs RENAME COLUMN scene TO input;

DROP INDEX jobs_owner_state_seq;
DROP INDEX jobs_queued;
CREATE INDEX jobs_queued ON jobs(seq) INCLUDE (cost_units, owner_id) WHERE state = 'queued';

CREATE VIEW queue AS
SELECT
  CASE j.state WHEN 'queued'
    THEN row_number() OVER (PARTITION BY j.state ORDER BY j.seq) END  AS position,
  j.state,
  j.id,
  o.name                                                              AS owner,
  j.seq,
  j.kind,
  j.attempts,
  round(j.progress::numeric, 3)                                       AS progress,
  j.worker,
  j.cancel_requested,
  round((extract(epoch FROM clock_timestamp()) * 1000 - j.created_at)::numeric / 1000, 1)
                                                                      AS age_seconds,
  j.width || 'x' || j.height || 'x' || j.samples                      AS size,  -- scene jobs
  j.cost_units,
  to_char(to_timestamp(j.created_at / 1000.0) AT TIME ZONE 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')                            AS created
FROM jobs AS j JOIN owners AS o ON o.id = j.owner_id
WHERE j.state IN ('queued', 'running')
ORDER BY j.state = 'queued', j.seq;

CREATE VIEW recent_failures AS
SELECT
  to_char(to_timestamp(j.finished_at / 1000.0) AT TIME ZONE 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS finished,
  j.id,
  o.name AS owner,
  j.kind,
  j.error_code,
  j.error_message,
  j.attempts,
  j.worker
FROM jobs AS j JOIN owners AS o ON o.id = j.owner_id
WHERE j.state = 'failed'
ORDER BY j.finished_at DESC
LIMIT 50;
