-- Which agent tool calls wait for a person, per project (services/agents/tools/approval.ts). No row: the default
-- policy (destructive commands and mass deletes wait).
CREATE TABLE agent_approval_policies (
  project_id uuid        PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  policy     jsonb       NOT NULL,
  updated_by uuid        REFERENCES users (id) ON DELETE SET NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
