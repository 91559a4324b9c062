-- renderq schema on PostgreSQL, version 1: the same tables, constraints and
-- views as the SQLite schema (sql/00N_*.sql; docs/schema.md explains every
-- column), plus the jobs' bytes (results, previews, checkpoints), which a
-- PostgreSQL queue keeps in the database so that GPU hosts need no shared
-- filesystem and a backup (pg_dump) holds everything.
--
-- Timestamps are bigint milliseconds since the Unix epoch, UTC, taken from
-- the database server's clock, so that hosts whose clocks drift agree on
-- leases. The store applies this file in one transaction under an advisory
-- lock and records it in renderq_schema_version.

CREATE TABLE owners (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text   NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
  created_at  bigint NOT NULL CHECK (created_at >= 0)
);

-- API tokens: only the SHA-256 of the secret is stored (hex, lowercase).
-- An owner has at most one active token; revoked ones stay for the record.
CREATE TABLE tokens (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id    bigint NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  token_hash  text   NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at  bigint NOT NULL CHECK (created_at >= 0),
  revoked_at  bigint CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
CREATE UNIQUE INDEX tokens_one_active_per_owner ON tokens(owner_id) WHERE revoked_at IS NULL;

-- seq is the place in line: the order in which submits committed (submits
-- take an advisory lock for their whole transaction, so numbers are handed
-- out in commit order). Never reused, so cursors stay valid after a purge.
CREATE SEQUENCE jobs_seq AS bigint;
-- Leases are numbered by one sequence, so a lease id is never handed out
-- twice (fencing stays sound when a job is claimed, lost and claimed again).
CREATE SEQUENCE lease_ids AS bigint;

CREATE TABLE jobs (
  seq                   bigint  PRIMARY KEY DEFAULT nextval('jobs_seq'),
  id                    uuid    NOT NULL UNIQUE CHECK (
                          substr(id::text, 15, 1) = '4' AND substr(id::text, 20, 1) IN ('8', '9', 'a', 'b')),
  owner_id              bigint  NOT NULL REFERENCES owners(id),
  state                 text    NOT NULL DEFAULT 'queued'
                          CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  attempts              integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  stalled_attempts      integer NOT NULL DEFAULT 0 CHECK (stalled_attempts BETWEEN 0 AND attempts),
  cancel_requested      boolean NOT NULL DEFAULT false,
  progress              double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  created_at            bigint  NOT NULL CHECK (created_at >= 0),
  started_at            bigint  CHECK (started_at >= created_at),
  finished_at           bigint  CHECK (finished_at >= created_at),
  width                 integer NOT NULL CHECK (width BETWEEN 1 AND 4096),
  height                integer NOT NULL CHECK (height BETWEEN 1 AND 4096),
  samples               integer NOT NULL CHECK (samples BETWEEN 1 AND 65536),
  max_depth             integer NOT NULL CHECK (max_depth BETWEEN 1 AND 64),
  cost_units            double precision NOT NULL CHECK (cost_units >= 0),
  lease_id              bigint  CHECK (lease_id > 0),
  worker                text,
  heartbeat_at          bigint,
  checkpoint_samples    bigint  NOT NULL DEFAULT 0 CHECK (checkpoint_samples BETWEEN 0 AND samples),
  attempt_from_samples  bigint  NOT NULL DEFAULT 0
                          CHECK (attempt_from_samples BETWEEN 0 AND checkpoint_samples),
  error_code            text    CHECK (error_code <> ''),
  error_message         text,
  device                text,
  render_seconds        double precision CHECK (render_seconds >= 0),
  samples_per_second    double precision CHECK (samples_per_second >= 0),
  result_etag           text    CHECK (result_etag <> ''),

  -- A lease (and its heartbeat) exists exactly while the job runs.
  CHECK ((state = 'running') = (lease_id IS NOT NULL)),
  CHECK ((state = 'running') = (heartbeat_at IS NOT NULL)),
  CHECK (state <> 'running' OR worker IS NOT NULL),
  CHECK (state <> 'queued' OR started_at IS NULL),
  CHECK (state NOT IN ('running', 'succeeded') OR started_at IS NOT NULL),
  CHECK ((state IN ('succeeded', 'failed', 'canceled')) = (finished_at IS NOT NULL)),
  CHECK ((state = 'failed') = (error_code IS NOT NULL)),
  CHECK ((error_code IS NULL) = (error_message IS NULL)),
  CHECK ((state = 'succeeded') = (result_etag IS NOT NULL)),
  CHECK (state <> 'succeeded' OR (progress = 1 AND device IS NOT NULL AND
                                  render_seconds IS NOT NULL AND samples_per_second IS NOT NULL)),
  CHECK (state NOT IN ('queued', 'running') OR
         (device IS NULL AND render_seconds IS NULL AND samples_per_second IS NULL)),
  CHECK (state <> 'queued' OR NOT cancel_requested),
  CHECK (state IN ('queued', 'running') OR checkpoint_samples = 0),
  CHECK (started_at IS NULL OR finished_at IS NULL OR finished_at >= started_at)
) WITH (fillfactor = 70);
-- fillfactor: room on each page for the heartbeat's new row version, so a
-- heartbeat (no indexed column changes) is a HOT update and vacuum keeps up.

-- The line (claim = its first entry, FOR UPDATE SKIP LOCKED).
CREATE INDEX jobs_queued ON jobs(seq) INCLUDE (cost_units) WHERE state = 'queued';
-- Running jobs, for the lapsed-lease scan (by seq, not heartbeat_at: an index
-- on the heartbeat would end HOT updates).
CREATE INDEX jobs_running ON jobs(seq) WHERE state = 'running';
CREATE INDEX jobs_owner_seq ON jobs(owner_id, seq);
CREATE INDEX jobs_owner_state_seq ON jobs(owner_id, state, seq);
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;

-- Each job's scene, written once at submit and read by the claim; it follows
-- its job (deleted with it, renumbered with it by a retry).
CREATE TABLE job_scenes (
  seq    bigint PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE ON UPDATE CASCADE,
  scene  text   NOT NULL
);

-- A job's bytes. PNGs and the renderer's float buffers do not compress:
-- STORAGE EXTERNAL keeps them out of line without spending CPU on trying.
CREATE TABLE job_results (
  seq   bigint PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE ON UPDATE CASCADE,
  png   bytea  NOT NULL
);
ALTER TABLE job_results ALTER COLUMN png SET STORAGE EXTERNAL;
CREATE TABLE job_previews (
  seq         bigint PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE ON UPDATE CASCADE,
  png         bytea  NOT NULL,
  updated_at  bigint NOT NULL
);
ALTER TABLE job_previews ALTER COLUMN png SET STORAGE EXTERNAL;
CREATE TABLE job_checkpoints (
  seq      bigint PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE ON UPDATE CASCADE,
  samples  bigint NOT NULL CHECK (samples > 0),
  state    bytea  NOT NULL
);
ALTER TABLE job_checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;

-- A job is succeeded exactly when its result is stored: checked at COMMIT.
CREATE FUNCTION renderq_succeeded_has_result() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state = 'succeeded' AND NOT EXISTS (SELECT 1 FROM job_results WHERE seq = NEW.seq) THEN
    RAISE EXCEPTION 'job % is succeeded without a stored result', NEW.id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER jobs_succeeded_has_result AFTER INSERT OR UPDATE OF state ON jobs
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.state = 'succeeded')
  EXECUTE FUNCTION renderq_succeeded_has_result();

-- Idempotency-Key: a repeated submit with the same owner and key within 24 h
-- replays the original job (the window is enforced by the store on lookup).
CREATE TABLE idempotency_keys (
  owner_id      bigint NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  key           text   NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash  text   NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  job_id        uuid   NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  created_at    bigint NOT NULL CHECK (created_at >= 0),
  PRIMARY KEY (owner_id, key)
);
CREATE INDEX idempotency_keys_job ON idempotency_keys(job_id);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- One row per worker process (name = its systemd instance, unique across hosts).
CREATE TABLE workers (
  name              text    PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
  device            text    NOT NULL CHECK (device <> ''),
  fallback          boolean NOT NULL DEFAULT false,
  pid               bigint  NOT NULL CHECK (pid >= 0),
  started_at        bigint  NOT NULL CHECK (started_at >= 0),
  heartbeat_at      bigint  NOT NULL CHECK (heartbeat_at >= started_at),
  current_job       uuid    REFERENCES jobs(id) ON DELETE SET NULL,
  units_per_second  double precision CHECK (units_per_second > 0)
);

-- ---- Views for humans in psql --------------------------------------------

CREATE VIEW queue AS
SELECT
  CASE j.state WHEN 'queued'
    THEN row_number() OVER (PARTITION BY j.state ORDER BY j.seq) END  AS position,
  j.state,
  j.id,
  o.name                                                              AS owner,
  j.seq,
  j.attempts,
  round(j.progress::numeric, 3)                                       AS progress,
  j.worker,
  j.cancel_requested,
  round((extract(epoch FROM clock_timestamp()) * 1000 - j.created_at)::numeric / 1000, 1)
                                                                      AS age_seconds,
  j.width || 'x' || j.height || 'x' || j.samples                      AS size,
  j.cost_units,
  to_char(to_timestamp(j.created_at / 1000.0) AT TIME ZONE 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')                            AS created
FROM jobs AS j JOIN owners AS o ON o.id = j.owner_id
WHERE j.state IN ('queued', 'running')
ORDER BY j.state = 'queued', j.seq;

CREATE VIEW job_counts AS
WITH s(state, ord) AS (
  VALUES ('queued', 1), ('running', 2), ('succeeded', 3), ('failed', 4), ('canceled', 5))
SELECT s.state, count(j.seq) AS jobs
FROM s LEFT JOIN jobs AS j ON j.state = s.state
GROUP BY s.state, s.ord
ORDER BY s.ord;

CREATE VIEW recent_failures AS
SELECT
  to_char(to_timestamp(j.finished_at / 1000.0) AT TIME ZONE 'UTC',
          'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS finished,
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
