-- renderq schema on PostgreSQL, version 4: notifications, as version 5 of
-- the SQLite schema (sql/sqlite/005_notifications.sql explains the tables).
--
-- job_events.seq is handed out in commit order: a transaction that records
-- an event takes the advisory lock 7263851003 first and keeps it to its
-- commit, so a reader that has seen seq N never later finds a smaller one
-- committed. The transaction also NOTIFYs renderq_events, which wakes every
-- web host's dispatcher.

CREATE TABLE webhooks (
  id             text   PRIMARY KEY CHECK (id ~ '^wh_[0-9a-f]{32}$'),
  owner_id       bigint NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
  url            text   NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
  events         integer NOT NULL CHECK (events BETWEEN 1 AND 15),
  secret_sealed  text   NOT NULL CHECK (length(secret_sealed) > 92),
  created_at     bigint NOT NULL CHECK (created_at >= 0)
);
CREATE INDEX webhooks_by_owner ON webhooks(owner_id, created_at);

CREATE SEQUENCE job_events_seq AS bigint;
CREATE TABLE job_events (
  seq         bigint PRIMARY KEY DEFAULT nextval('job_events_seq'),
  id          text   NOT NULL UNIQUE CHECK (id ~ '^evt_[0-9a-f]{32}$'),
  job_id      uuid   NOT NULL,
  owner_id    bigint NOT NULL,
  state       text   NOT NULL
                CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
  job         text   NOT NULL CHECK (job::jsonb IS NOT NULL),
  created_at  bigint NOT NULL CHECK (created_at >= 0)
);
CREATE INDEX job_events_by_time ON job_events(created_at);

CREATE TABLE webhook_deliveries (
  id               bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id       text    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_seq        bigint  NOT NULL REFERENCES job_events(seq) ON DELETE CASCADE,
  type             text    NOT NULL
                     CHECK (type IN ('job.started', 'job.succeeded', 'job.failed', 'job.canceled')),
  state            text    NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  bigint  NOT NULL CHECK (next_attempt_at >= 0),
  leased_until     bigint  NOT NULL DEFAULT 0 CHECK (leased_until >= 0),
  created_at       bigint  NOT NULL CHECK (created_at >= 0)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event_seq);

CREATE TABLE webhook_attempts (
  id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook_id    text    NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id      text    NOT NULL,
  type          text    NOT NULL,
  attempt       integer NOT NULL CHECK (attempt >= 1),
  attempted_at  bigint  NOT NULL CHECK (attempted_at >= 0),
  status        integer CHECK (status BETWEEN 100 AND 599),
  error         text    CHECK (length(error) <= 200)
);
CREATE INDEX webhook_attempts_recent ON webhook_attempts(webhook_id, id);
