-- The jobs table's row history, as the database commits it: the test's own
-- instrumentation, installed after `renderqctl init` (the product knows
-- nothing of it). Every insert of a job and every update that changes its
-- state, lease, place in line or end (a second finish of a finished job is
-- one) adds a row, in the same transaction as the
-- change, so this table holds exactly the changes the database kept: after a
-- failover, those the new primary has. Commit order comes from the commit
-- timestamps of the rows' transactions (track_commit_timestamp = on, which the
-- standby records as it replays, so they survive a promotion).
CREATE TABLE ha_history (
  n               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id          uuid   NOT NULL,
  seq             bigint NOT NULL,
  old_seq         bigint,
  old_state       text,
  new_state       text   NOT NULL,
  old_lease       bigint,
  new_lease       bigint,
  worker          text,
  old_heartbeat   bigint,
  attempts        integer NOT NULL,
  result_etag     text,
  at_ms           bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
);

CREATE FUNCTION ha_record_job_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ha_history (job_id, seq, new_state, new_lease, worker, attempts)
    VALUES (NEW.id, NEW.seq, NEW.state, NEW.lease_id, NEW.worker, NEW.attempts);
  ELSIF NEW.state IS DISTINCT FROM OLD.state OR NEW.lease_id IS DISTINCT FROM OLD.lease_id
        OR NEW.seq IS DISTINCT FROM OLD.seq OR NEW.finished_at IS DISTINCT FROM OLD.finished_at THEN
    INSERT INTO ha_history (job_id, seq, old_seq, old_state, new_state, old_lease, new_lease,
                            worker, old_heartbeat, attempts, result_etag)
    VALUES (NEW.id, NEW.seq, OLD.seq, OLD.state, NEW.state, OLD.lease_id, NEW.lease_id,
            coalesce(NEW.worker, OLD.worker), OLD.heartbeat_at, NEW.attempts, NEW.result_etag);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER ha_job_history AFTER INSERT OR UPDATE ON jobs
  FOR EACH ROW EXECUTE FUNCTION ha_record_job_change();
