-- Agent runs (services/agents/runs). The workflow `agentRun` (id = the run's id) carries references only; the
-- run's state, transcript, events and tool journal live here.
CREATE TABLE agent_runs (
  id                 uuid        PRIMARY KEY,
  project_id         uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  -- Who started it: tools act with exactly these permissions (lib/access.ts Principal).
  principal          jsonb       NOT NULL,
  created_by         uuid        REFERENCES users (id) ON DELETE SET NULL,
  idempotency_key    text,
  status             text        NOT NULL,
  goal               text        NOT NULL,
  provider           text        NOT NULL,
  model              text        NOT NULL,
  prompt_version     text        NOT NULL,
  max_steps          integer     NOT NULL,
  steps              integer     NOT NULL DEFAULT 0,
  -- Where the current stretch of work (the goal, or the latest message) began: limits count from here.
  segment_step       integer     NOT NULL DEFAULT 0,
  segment_started_at timestamptz NOT NULL DEFAULT now(),
  input_tokens       bigint      NOT NULL DEFAULT 0,
  output_tokens      bigint      NOT NULL DEFAULT 0,
  cache_write_tokens bigint      NOT NULL DEFAULT 0,
  cache_read_tokens  bigint      NOT NULL DEFAULT 0,
  cost_usd           numeric(14, 6) NOT NULL DEFAULT 0,
  reason             text,
  pending_approval   jsonb,
  webhook_url        text,
  webhook_secret     text,
  last_seq           bigint      NOT NULL DEFAULT 0,
  -- The highest run.status event some API instance published on the project bus (one instance does each).
  published_seq      bigint      NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_runs_project ON agent_runs (project_id, created_at DESC);
CREATE UNIQUE INDEX agent_runs_idempotency ON agent_runs (project_id, created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Everything a run did, in order: seq strictly increasing per run (gaps possible), `dedupe_key` makes a retried
-- activity's events land once.
CREATE TABLE agent_run_events (
  run_id     uuid        NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
  seq        bigint      NOT NULL,
  type       text        NOT NULL,
  at         timestamptz NOT NULL DEFAULT now(),
  data       jsonb       NOT NULL,
  dedupe_key text,
  PRIMARY KEY (run_id, seq)
);
CREATE UNIQUE INDEX agent_run_events_dedupe ON agent_run_events (run_id, dedupe_key) WHERE dedupe_key IS NOT NULL;

-- The transcript: user texts, assistant turns (content blocks) and tool results, in order; `key` makes each
-- entry land once (goal, user:<message>, assistant:<step>, result:<call>, nudge:<step>).
CREATE TABLE agent_run_messages (
  id         bigserial   PRIMARY KEY,
  run_id     uuid        NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
  key        text        NOT NULL,
  step       integer     NOT NULL,
  kind       text        NOT NULL CHECK (kind IN ('user', 'assistant', 'result')),
  data       jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, key)
);

-- Follow-up messages, stored when they arrive; the workflow is signalled their id and takes them in order.
CREATE TABLE agent_run_inbox (
  id         uuid        PRIMARY KEY,
  run_id     uuid        NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
  text       text        NOT NULL,
  sender     uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The tools' at-most-once journal (services/agents/tools/journal.ts) and the engine's own marks.
CREATE TABLE agent_run_journal (
  run_id uuid  NOT NULL REFERENCES agent_runs (id) ON DELETE CASCADE,
  key    text  NOT NULL,
  value  jsonb NOT NULL,
  PRIMARY KEY (run_id, key)
);
