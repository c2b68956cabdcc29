-- One sandbox per project. The row outlives container re-creation; the workspace volume outlives both.
CREATE TABLE sandboxes (
  project_id   uuid        PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  container_id text,
  image        text        NOT NULL,
  state        text        NOT NULL DEFAULT 'created'
                           CHECK (state IN ('created', 'running', 'paused', 'stopped')),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandboxes_idle_idx ON sandboxes (state, last_used_at);
