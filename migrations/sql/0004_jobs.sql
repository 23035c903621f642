-- 0004: jobs, the durable timer queue (reclaim a lease at its expiry, refresh a pool, …). A job is
-- due at due_at; any daemon (or `tronrelayctl reclaim --due`) claims due jobs with
-- FOR UPDATE SKIP LOCKED, runs them and marks them done, or retry with a backoff, or dead after
-- max_attempts. A claim lasts until claimed_until: past it the claimer is presumed crashed and
-- another may claim the job again. store/job_queue_repository.cc holds the statements.
--
--   due → claimed(by, until) → done | retry → claimed … | dead (listed under /v1/admin/attention)

CREATE TABLE jobs (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CHECK (kind <> ''),  -- 'reclaim_lease', …
  ref           text NOT NULL CHECK (ref <> ''),   -- what it acts on: 'lease:42'
  due_at        timestamptz NOT NULL,
  state         text NOT NULL DEFAULT 'due'
                  CHECK (state IN ('due', 'claimed', 'done', 'retry', 'dead')),
  -- The last claimer: kept after done/retry/dead, for the record (who ran it last).
  claimed_by    text,
  claimed_until timestamptz,
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL CHECK (max_attempts >= 1),
  last_error    text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  done_at       timestamptz,  -- when it became done or dead
  -- A claim is never handed out past the last attempt: a claimer that crashes on it makes it dead.
  CHECK (attempts >= 0 AND attempts <= max_attempts),
  CHECK ((state = 'claimed') = (claimed_until IS NOT NULL)),
  CHECK (state <> 'claimed' OR claimed_by IS NOT NULL),
  CHECK ((state IN ('done', 'dead')) = (done_at IS NOT NULL))
);

-- One live job per (kind, ref): enqueue is idempotent (INSERT … ON CONFLICT DO NOTHING), while
-- finished jobs stay as history and do not block a new one.
CREATE UNIQUE INDEX jobs_live_kind_ref ON jobs (kind, ref) WHERE state NOT IN ('done', 'dead');
-- Claiming: one range scan in due order. Claimed rows are in it for crashed workers: a claim is
-- only handed out for due_at <= now, so an expired claim always sits in the due range too.
CREATE INDEX jobs_claimable ON jobs (due_at, id) WHERE state IN ('due', 'retry', 'claimed');
-- The earliest claim to expire, for the timer (next_due_at) without scanning the claimable range.
CREATE INDEX jobs_claimed_until ON jobs (claimed_until) WHERE state = 'claimed';
-- Dead jobs, newest first, for the attention list.
CREATE INDEX jobs_dead ON jobs (done_at DESC, id DESC) WHERE state = 'dead';
