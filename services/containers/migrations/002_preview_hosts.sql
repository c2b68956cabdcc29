-- A preview's own origin: one random host label per person and project, so a previewed app runs in an origin
-- of its own (never the IDE's) and needs no cookie of ours. Access is still checked on every request.
CREATE TABLE preview_hosts (
  label      text        PRIMARY KEY,
  project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, user_id)
);
