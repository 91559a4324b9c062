-- renderq schema, version 3 (PostgreSQL): what running operators' kinds
-- needs beyond a kind and an input (SPEC "Your own GPU program: job kinds"),
-- as in SQLite's 004.
--
-- * workers.kinds: the kinds a worker serves (a JSON array of names, "scene"
--   included), shown by /api/v1/queue and renderqctl status.
-- * jobs.media_type: the Content-Type a kind's result is served with, from its
--   kind file's output_media_type when the job was submitted; NULL is
--   image/png (every scene job).
-- * jobs_kind_succeeded: a kind's last succeeded jobs, newest first, whose
--   mean runtime is the kind's cost in admission and ETAs.
-- * The view kind_counts: jobs by kind and state.

ALTER TABLE workers ADD COLUMN kinds jsonb NOT NULL DEFAULT '["scene"]'
  CONSTRAINT workers_kinds_array CHECK (jsonb_typeof(kinds) = 'array');
ALTER TABLE jobs ADD COLUMN media_type text
  CONSTRAINT jobs_media_type_shape CHECK (media_type ~ '^[^/]+/[^/]+$' AND length(media_type) <= 127);

CREATE INDEX jobs_kind_succeeded ON jobs (kind, finished_at) WHERE state = 'succeeded';

CREATE VIEW kind_counts AS
SELECT
  kind,
  count(*) FILTER (WHERE state = 'queued')    AS queued,
  count(*) FILTER (WHERE state = 'running')   AS running,
  count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
  count(*) FILTER (WHERE state = 'failed')    AS failed,
  count(*) FILTER (WHERE state = 'canceled')  AS canceled
FROM jobs
GROUP BY kind
ORDER BY kind;
