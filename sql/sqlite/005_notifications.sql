-- renderq schema, version 5: notifications (docs/notifications.md).
--
-- job_events is the outbox: one row per change of a job's state, written in
-- the transaction that makes the change, in commit order (seq). The
-- dispatcher (renderq-notify) publishes each to the job's live event streams
-- and delivers it to the owner's webhooks that asked for its type; every
-- attempt is kept in webhook_attempts for GET /api/v1/webhooks/{id}/deliveries.

-- An owner's webhook. The secret is sealed to the dispatcher's public key
-- (X25519 + AES-256-GCM, base64; docs/notifications.md): this file alone does not
-- hold it in clear. events: a bit per type (1 job.started, 2 job.succeeded,
-- 4 job.failed, 8 job.canceled).
CREATE TABLE webhooks (
  id             TEXT    PRIMARY KEY CHECK (length(id) = 35 AND id GLOB 'wh_*'
                                            AND substr(id, 4) NOT GLOB '*[^0-9a-f]*'),
  owner_id       INTEGER NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  url            TEXT    NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
  events         INTEGER NOT NULL CHECK (events BETWEEN 1 AND 15),
  secret_sealed  TEXT    NOT NULL CHECK (length(secret_sealed) > 92),
  created_at     INTEGER NOT NULL CHECK (created_at >= 0)
) STRICT;
CREATE INDEX webhooks_by_owner ON webhooks(owner_id, created_at);

-- The outbox. id is the event's webhook-id; job is the job object (SPEC's
-- JSON) as of the change.
CREATE TABLE job_events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT    NOT NULL UNIQUE CHECK (length(id) = 36 AND id GLOB 'evt_*'),
  job_id      TEXT    NOT NULL,
  owner_id    INTEGER NOT NULL,
  state       TEXT    NOT NULL
                CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  job         TEXT    NOT NULL CHECK (json_valid(job)),
  created_at  INTEGER NOT NULL CHECK (created_at >= 0)
) STRICT;
CREATE INDEX job_events_by_time ON job_events(created_at);

-- One event on its way to one webhook: pending until a 2xx, or failed once
-- its retries are over (24 h). A dispatcher claims it until leased_until.
CREATE TABLE webhook_deliveries (
  id               INTEGER PRIMARY KEY,
  webhook_id       TEXT    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_seq        INTEGER NOT NULL REFERENCES job_events(seq) ON DELETE CASCADE,
  type             TEXT    NOT NULL
                     CHECK (type IN ('job.started', 'job.succeeded', 'job.failed', 'job.canceled')),
  state            TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  INTEGER NOT NULL CHECK (next_attempt_at >= 0),
  leased_until     INTEGER NOT NULL DEFAULT 0 CHECK (leased_until >= 0),
  created_at       INTEGER NOT NULL CHECK (created_at >= 0)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_seq);

-- Every attempt, for the delivery log.
CREATE TABLE webhook_attempts (
  id            INTEGER PRIMARY KEY,
  webhook_id    TEXT    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id      TEXT    NOT NULL,
  type          TEXT    NOT NULL,
  attempt       INTEGER NOT NULL CHECK (attempt >= 1),
  attempted_at  INTEGER NOT NULL CHECK (attempted_at >= 0),
  status        INTEGER CHECK (status BETWEEN 100 AND 599),
  error         TEXT    CHECK (length(error) <= 200)
) STRICT;
CREATE INDEX webhook_attempts_recent ON webhook_attempts(webhook_id, id);
