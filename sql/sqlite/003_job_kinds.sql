-- renderq schema, version 3: a job has a kind and an input.
--
-- * kind: 'scene' for the built-in path tracer, else the name of an
--   operator's kind (SPEC "Your own GPU program: job kinds"); the queue is one
--   line across kinds. width, height, samples and max_depth describe scene
--   jobs only and are NULL for the others, as is samples_per_second.
-- * job_scenes becomes job_inputs (seq, input): a job's input as submitted,
--   the scene of a scene job, written once and read by the claim.
-- * The index jobs_owner_state_seq goes: an owner's queued jobs are counted
--   from jobs_queued, which now covers owner_id too (at most the queue's
--   1,000 entries), and a listing filtered by state walks jobs_owner_seq
--   newest first. One index less to update on every submit. docs/schema.md
--   says which statement uses each remaining index.
--
-- The jobs table is rebuilt (SQLite cannot relax NOT NULL or change a CHECK
-- in place); the store applies this with foreign keys off and checks them
-- before COMMIT.

CREATE TEMP TABLE m003_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'jobs';

CREATE TABLE jobs_v3 (
  seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
  id                    TEXT    NOT NULL UNIQUE CHECK (
                          length(id) = 36 AND
                          id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-4[0-9a-f][0-9a-f][0-9a-f]-[89ab][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
  owner_id              INTEGER NOT NULL REFERENCES owners(id),
  state                 TEXT    NOT NULL DEFAULT 'queued'
                          CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  attempts              INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  stalled_attempts      INTEGER NOT NULL DEFAULT 0 CHECK (stalled_attempts BETWEEN 0 AND attempts),
  cancel_requested      INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  progress              REAL    NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  created_at            INTEGER NOT NULL CHECK (created_at >= 0),
  started_at            INTEGER CHECK (started_at >= created_at),
  finished_at           INTEGER CHECK (finished_at >= created_at),
  kind                  TEXT    NOT NULL DEFAULT 'scene' CHECK (
                          length(kind) BETWEEN 1 AND 32 AND kind GLOB '[a-z]*' AND
                          kind NOT GLOB '*[^a-z0-9-]*'),
  width                 INTEGER CHECK (width BETWEEN 1 AND 4096),
  height                INTEGER CHECK (height BETWEEN 1 AND 4096),
  samples               INTEGER CHECK (samples BETWEEN 1 AND 65536),
  max_depth             INTEGER CHECK (max_depth BETWEEN 1 AND 64),
  cost_units            REAL    NOT NULL CHECK (cost_units >= 0),
  lease_id              INTEGER CHECK (lease_id > 0),
  worker                TEXT,
  heartbeat_at          INTEGER,
  checkpoint_samples    INTEGER NOT NULL DEFAULT 0
                          CHECK (checkpoint_samples >= 0 AND
                                 (samples IS NULL OR checkpoint_samples <= samples)),
  attempt_from_samples  INTEGER NOT NULL DEFAULT 0
                          CHECK (attempt_from_samples BETWEEN 0 AND checkpoint_samples),
  error_code            TEXT    CHECK (error_code <> ''),
  error_message         TEXT,
  device                TEXT,
  render_seconds        REAL    CHECK (render_seconds >= 0),
  samples_per_second    REAL    CHECK (samples_per_second >= 0),
  result_etag           TEXT    CHECK (result_etag <> ''),

  -- A lease (and its heartbeat) exists exactly while the job runs.
  CHECK ((state = 'running') = (lease_id IS NOT NULL)),
  CHECK ((state = 'running') = (heartbeat_at IS NOT NULL)),
  CHECK (state <> 'running' OR worker IS NOT NULL),
  -- started_at is the start of the current (or last) attempt: none while
  -- waiting in line, always once running or done.
  CHECK (state <> 'queued' OR started_at IS NULL),
  CHECK (state NOT IN ('running', 'succeeded') OR started_at IS NOT NULL),
  -- finished_at iff terminal.
  CHECK ((state IN ('succeeded', 'failed', 'canceled')) = (finished_at IS NOT NULL)),
  -- An error iff failed.
  CHECK ((state = 'failed') = (error_code IS NOT NULL)),
  CHECK ((error_code IS NULL) = (error_message IS NULL)),
  -- A result iff succeeded, and a succeeded job is complete and reports its run.
  CHECK ((state = 'succeeded') = (result_etag IS NOT NULL)),
  CHECK (state <> 'succeeded' OR (progress = 1 AND device IS NOT NULL AND
                                  render_seconds IS NOT NULL AND
                                  (kind <> 'scene' OR samples_per_second IS NOT NULL))),
  CHECK (state NOT IN ('queued', 'running') OR
         (device IS NULL AND render_seconds IS NULL AND samples_per_second IS NULL)),
  -- A queued job is canceled at once; only a running job waits for its worker.
  CHECK (state <> 'queued' OR cancel_requested = 0),
  -- A finished job keeps no checkpoint.
  CHECK (state IN ('queued', 'running') OR checkpoint_samples = 0),
  CHECK (started_at IS NULL OR finished_at IS NULL OR finished_at >= started_at),
  -- A scene job's shape is all there; other kinds have none, and no samples/s.
  CHECK ((kind = 'scene') = (width IS NOT NULL)),
  CHECK ((width IS NULL) = (height IS NULL) AND (width IS NULL) = (samples IS NULL) AND
         (width IS NULL) = (max_depth IS NULL)),
  CHECK (kind = 'scene' OR samples_per_second IS NULL)
) STRICT;

INSERT INTO jobs_v3 (seq, id, owner_id, state, attempts, stalled_attempts, cancel_requested, progress, created_at, started_at, finished_at, width, height, samples, max_depth, cost_units, lease_id, worker, heartbeat_at, checkpoint_samples, attempt_from_samples, error_code, error_message, device, render_seconds, samples_per_second, result_etag)
SELECT seq, id, owner_id, state, attempts, stalled_attempts, cancel_requested, progress, created_at, started_at, finished_at, width, height, samples, max_depth, cost_units, lease_id, worker, heartbeat_at, checkpoint_samples, attempt_from_samples, error_code, error_message, device, render_seconds, samples_per_second, result_etag
FROM jobs;

CREATE TABLE job_inputs (
  seq    INTEGER PRIMARY KEY REFERENCES jobs_v3(seq) ON DELETE CASCADE ON UPDATE CASCADE,
  input  TEXT    NOT NULL
) STRICT;
INSERT INTO job_inputs (seq, input) SELECT seq, scene FROM job_scenes;

DROP VIEW queue;
DROP VIEW job_counts;
DROP VIEW recent_failures;
DROP TABLE job_scenes;
DROP TABLE jobs;
ALTER TABLE jobs_v3 RENAME TO jobs;

-- seq is never reused, also across the rebuild (cursors stay valid).
UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(seq), 0) FROM temp.m003_sequence))
WHERE name = 'jobs';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'jobs', seq FROM temp.m003_sequence
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs');
DROP TABLE temp.m003_sequence;

-- The line: queued jobs by seq (claim = its first entry; position = a count
-- over it; the covering cost and owner columns make ETA sums and an owner's
-- queued count index-only).
CREATE INDEX jobs_queued ON jobs(seq, cost_units, owner_id) WHERE state = 'queued';
-- Running jobs by heartbeat, for the lapsed-lease scan.
CREATE INDEX jobs_running ON jobs(heartbeat_at) WHERE state = 'running';
-- An owner's jobs by seq: listings newest first, the owner's queued jobs.
CREATE INDEX jobs_owner_seq ON jobs(owner_id, seq);
-- Purge of old terminal jobs, and /metrics' recent render durations.
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;

-- ---- Views for humans in sqlite3 (as in version 2, with each job's kind) ----

-- Running jobs first, then the queued ones in the order they will run.
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
  round(j.progress, 3)                                                AS progress,
  j.worker,
  j.cancel_requested,
  round((strftime('%s', 'now') * 1000 - j.created_at) / 1000.0, 1)    AS age_seconds,
  j.width || 'x' || j.height || 'x' || j.samples                      AS size,  -- scene jobs
  j.cost_units,
  strftime('%Y-%m-%dT%H:%M:%fZ', j.created_at / 1000.0, 'unixepoch')  AS created
FROM jobs AS j JOIN owners AS o ON o.id = j.owner_id
WHERE j.state IN ('queued', 'running')
ORDER BY j.state = 'queued', j.seq;

-- How many jobs are in each state (every state listed, zeros included).
CREATE VIEW job_counts AS
WITH s(state, ord) AS (
  VALUES ('queued', 1), ('running', 2), ('succeeded', 3), ('failed', 4), ('canceled', 5))
SELECT s.state, count(j.seq) AS jobs
FROM s LEFT JOIN jobs AS j ON j.state = s.state
GROUP BY s.state
ORDER BY min(s.ord);

-- The last 50 failures, newest first.
CREATE VIEW recent_failures AS
SELECT
  strftime('%Y-%m-%dT%H:%M:%fZ', j.finished_at / 1000.0, 'unixepoch') AS finished,
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
