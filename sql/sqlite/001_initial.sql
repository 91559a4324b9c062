-- renderq schema, version 1: jobs, owners and their tokens, idempotency keys,
-- workers, and the inspection views. docs/schema.md explains every column.
--
-- Every table is STRICT and carries CHECK constraints, so that a hand-written
-- statement in `sqlite3 queue.db` cannot store a state the services would not
-- (a running job without a lease, a failed job without an error, ...).
-- Timestamps are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE owners (
  id          INTEGER PRIMARY KEY,
  name        TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
  created_at  INTEGER NOT NULL CHECK (created_at >= 0)
) STRICT;

-- API tokens: only the SHA-256 of the secret is stored (hex, lowercase).
-- An owner has at most one active token; revoked ones stay for the record.
CREATE TABLE tokens (
  id          INTEGER PRIMARY KEY,
  owner_id    INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  token_hash  TEXT    NOT NULL UNIQUE
              CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
  created_at  INTEGER NOT NULL CHECK (created_at >= 0),
  revoked_at  INTEGER CHECK (revoked_at IS NULL OR revoked_at >= created_at)
) STRICT;
CREATE UNIQUE INDEX tokens_one_active_per_owner ON tokens(owner_id) WHERE revoked_at IS NULL;

-- One row per job. seq is the place in line: the order in which submits
-- committed (AUTOINCREMENT: never reused, so cursors stay valid after a purge).
-- A job whose worker is lost goes back to 'queued' with the same seq.
CREATE TABLE jobs (
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
  id                  TEXT    NOT NULL UNIQUE CHECK (
                        length(id) = 36 AND
                        id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-4[0-9a-f][0-9a-f][0-9a-f]-[89ab][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
  owner_id            INTEGER NOT NULL REFERENCES owners(id),
  state               TEXT    NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  cancel_requested    INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
  progress            REAL    NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  created_at          INTEGER NOT NULL CHECK (created_at >= 0),
  started_at          INTEGER CHECK (started_at >= created_at),
  finished_at         INTEGER CHECK (finished_at >= created_at),
  scene               TEXT    NOT NULL CHECK (json_valid(scene)),
  width               INTEGER NOT NULL CHECK (width BETWEEN 1 AND 4096),
  height              INTEGER NOT NULL CHECK (height BETWEEN 1 AND 4096),
  samples             INTEGER NOT NULL CHECK (samples BETWEEN 1 AND 65536),
  max_depth           INTEGER NOT NULL CHECK (max_depth BETWEEN 1 AND 64),
  cost_units          REAL    NOT NULL CHECK (cost_units >= 0),
  lease_id            INTEGER CHECK (lease_id > 0),
  worker              TEXT,
  heartbeat_at        INTEGER,
  checkpoint_path     TEXT    CHECK (checkpoint_path <> ''),
  checkpoint_samples  INTEGER NOT NULL DEFAULT 0 CHECK (checkpoint_samples BETWEEN 0 AND samples),
  error_code          TEXT    CHECK (error_code <> ''),
  error_message       TEXT,
  device              TEXT,
  render_seconds      REAL    CHECK (render_seconds >= 0),
  samples_per_second  REAL    CHECK (samples_per_second >= 0),
  result_etag         TEXT    CHECK (result_etag <> ''),

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
                                  render_seconds IS NOT NULL AND samples_per_second IS NOT NULL)),
  CHECK (state NOT IN ('queued', 'running') OR
         (device IS NULL AND render_seconds IS NULL AND samples_per_second IS NULL)),
  -- A queued job is canceled at once; only a running job waits for its worker.
  CHECK (state <> 'queued' OR cancel_requested = 0),
  -- A checkpoint has a file; no file, no samples.
  CHECK (checkpoint_path IS NOT NULL OR checkpoint_samples = 0),
  CHECK (started_at IS NULL OR finished_at IS NULL OR finished_at >= started_at)
) STRICT;

-- The line: queued jobs by seq (claim = its first entry; position = a count
-- over it; the covering cost column makes ETA sums index-only).
CREATE INDEX jobs_queued ON jobs(seq, cost_units) WHERE state = 'queued';
-- Running jobs by heartbeat, for the lapsed-lease scan.
CREATE INDEX jobs_running ON jobs(heartbeat_at) WHERE state = 'running';
-- An owner's jobs, newest first, optionally by state (listing, per-owner limit).
CREATE INDEX jobs_owner_seq ON jobs(owner_id, seq);
CREATE INDEX jobs_owner_state_seq ON jobs(owner_id, state, seq);
-- Purge of old terminal jobs.
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;

-- Leases are numbered by one counter, so a lease id is never handed out twice
-- (fencing stays sound when a job is claimed, lost and claimed again).
CREATE TABLE lease_counter (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  last_lease_id  INTEGER NOT NULL CHECK (last_lease_id >= 0)
) STRICT;
INSERT INTO lease_counter (id, last_lease_id) VALUES (1, 0);

-- Idempotency-Key: a repeated submit with the same owner and key within 24 h
-- replays the original job (the window is enforced by the store on lookup).
CREATE TABLE idempotency_keys (
  owner_id      INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  key           TEXT    NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash  TEXT    NOT NULL
                CHECK (length(request_hash) = 64 AND request_hash NOT GLOB '*[^0-9a-f]*'),
  job_id        TEXT    NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  created_at    INTEGER NOT NULL CHECK (created_at >= 0),
  PRIMARY KEY (owner_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_job ON idempotency_keys(job_id);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- One row per worker process (name = its systemd instance: "0", "cpu", ...).
CREATE TABLE workers (
  name              TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  device            TEXT    NOT NULL CHECK (device <> ''),
  fallback          INTEGER NOT NULL DEFAULT 0 CHECK (fallback IN (0, 1)),
  pid               INTEGER NOT NULL CHECK (pid >= 0),
  started_at        INTEGER NOT NULL CHECK (started_at >= 0),
  heartbeat_at      INTEGER NOT NULL CHECK (heartbeat_at >= started_at),
  current_job       TEXT    REFERENCES jobs(id) ON DELETE SET NULL,
  units_per_second  REAL    CHECK (units_per_second > 0)
) STRICT, WITHOUT ROWID;

-- ---- Views for humans in sqlite3 ----------------------------------------

-- Running jobs first, then the queued ones in the order they will run.
CREATE VIEW queue AS
SELECT
  CASE j.state WHEN 'queued'
    THEN row_number() OVER (PARTITION BY j.state ORDER BY j.seq) END  AS position,
  j.state,
  j.id,
  o.name                                                              AS owner,
  j.seq,
  j.attempts,
  round(j.progress, 3)                                                AS progress,
  j.worker,
  j.cancel_requested,
  round((strftime('%s', 'now') * 1000 - j.created_at) / 1000.0, 1)    AS age_seconds,
  j.width || 'x' || j.height || 'x' || j.samples                      AS size,
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
  j.error_code,
  j.error_message,
  j.attempts,
  j.worker
FROM jobs AS j JOIN owners AS o ON o.id = j.owner_id
WHERE j.state = 'failed'
ORDER BY j.finished_at DESC
LIMIT 50;
