-- The project event log (services/realtime/event-log.ts): every event published on the bus, numbered per project,
-- so that a client resumes after the last one it saw and an IDE opened later shows what happened before.
-- No foreign key to projects: `project.deleted` is logged after its row is gone. The sweep removes old rows.
CREATE TABLE project_event_counters (
  project_id uuid   PRIMARY KEY,
  seq        bigint NOT NULL
);

CREATE TABLE project_events (
  project_id uuid        NOT NULL,
  -- Gap-free per project, in commit order: the counter row stays locked until the event's insert commits.
  seq        bigint      NOT NULL,
  id         uuid        NOT NULL,
  type       text        NOT NULL,
  at         timestamptz NOT NULL,
  actor      jsonb,
  data       jsonb       NOT NULL,
  PRIMARY KEY (project_id, seq)
);
CREATE INDEX project_events_at ON project_events (at);
