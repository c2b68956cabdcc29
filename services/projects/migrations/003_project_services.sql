-- The services Vaporform runs beside a project's sandbox for its app: a PostgreSQL of its own (services.postgres).
ALTER TABLE projects ADD COLUMN service_postgres boolean NOT NULL DEFAULT false;
