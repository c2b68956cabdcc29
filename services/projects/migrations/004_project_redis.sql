-- A Redis of the project's own beside its sandbox (services.redis), like its PostgreSQL (003).
ALTER TABLE projects ADD COLUMN service_redis boolean NOT NULL DEFAULT false;
