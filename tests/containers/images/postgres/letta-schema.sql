-- What Letta's Alembic migrations leave in the database of compose/docker-compose.letta.yml (the
-- public schema of `letta`, where init-vector.sql put the extension), reduced to what lettagate
-- reads, with 3 live agents and 1 deleted one: the stand-in Letta keeps no data of its own.
-- Runs after the compose file's 10-init-vector.sql, once, on an empty data directory.
CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
INSERT INTO alembic_version (version_num) VALUES ('lg0test0head');
CREATE TABLE organizations (id text PRIMARY KEY, name text);
INSERT INTO organizations (id, name) VALUES ('org-00000000-0000-4000-8000-000000000000', 'default_org');
CREATE TABLE agents (
  id text PRIMARY KEY,
  name text,
  organization_id text,
  is_deleted boolean NOT NULL DEFAULT false,
  created_at timestamptz DEFAULT now()
);
INSERT INTO agents (id, name, organization_id, is_deleted) VALUES
  ('agent-3f9b2c1e-7a4d-4e8b-9c2a-1d5e6f708192', 'companion', 'org-00000000-0000-4000-8000-000000000000', false),
  ('agent-8c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5', 'researcher', 'org-00000000-0000-4000-8000-000000000000', false),
  ('agent-b7e6d5c4-3b2a-4190-8f7e-6d5c4b3a2910', 'scheduler', 'org-00000000-0000-4000-8000-000000000000', false),
  ('agent-0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a', 'retired', 'org-00000000-0000-4000-8000-000000000000', true);
