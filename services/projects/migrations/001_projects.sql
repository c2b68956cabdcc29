CREATE TABLE projects (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  created_by  uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name        text        NOT NULL,
  slug        text        NOT NULL,
  description text        NOT NULL DEFAULT '',
  stack       text        NOT NULL CHECK (stack IN ('node', 'python', 'go')),
  status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Slugs are unique per account that created them.
CREATE UNIQUE INDEX projects_creator_slug_key ON projects (created_by, slug);

-- The project's ACL. Every project has at least one owner; the creator is its first.
CREATE TABLE project_members (
  project_id uuid        NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'write', 'execute', 'read')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user_idx ON project_members (user_id, project_id);
