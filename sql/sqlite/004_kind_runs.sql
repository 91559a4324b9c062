-- renderq schema, version 4: what running operators' kinds needs beyond a
-- kind and an input (SPEC "Your own GPU program: job kinds").
--
-- * workers.kinds: the kinds a worker serves (a JSON array of names, "scene"
--   included), shown by /api/v1/queue and renderqctl status.
-- * jobs.media_type: the Content-Type a kind's result is served with, from its
--   kind file's output_media_type when the job was submitted; NULL is
--   image/png (every scene job).
-- * jobs_kind_succeeded: a kind's last succeeded jobs, newest first, whose
--   mean runtime is the kind's cost in admission and ETAs.
-- * The view kind_counts: jobs by kind and state.

ALTER TABLE workers ADD COLUMN kinds TEXT NOT NULL DEFAULT '["scene"]'
  CHECK (json_valid(kinds) AND json_type(kinds) = 'array');
ALTER TABLE jobs ADD COLUMN media_type TEXT
  CHECK (media_type IS NULL OR (length(media_type) BETWEEN 3 AND 127 AND media_type GLOB '?*/?*'));

CREATE INDEX jobs_kind_succeeded ON jobs(kind, finished_at) WHERE state = 'succeeded';

-- How many jobs of each kind are in each state.
CREATE VIEW kind_counts AS
SELECT
  kind,
  sum(state = 'queued')    AS queued,
  sum(state = 'running')   AS running,
  sum(state = 'succeeded') AS succeeded,
  sum(state = 'failed')    AS failed,
  sum(state = 'canceled')  AS canceled
FROM jobs
GROUP BY kind
ORDER BY kind;
