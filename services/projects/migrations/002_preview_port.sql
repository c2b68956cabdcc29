-- The port inside the sandbox that /preview/:projectId/ serves.
ALTER TABLE projects ADD COLUMN preview_port integer NOT NULL DEFAULT 3000 CHECK (preview_port BETWEEN 1 AND 65535);
