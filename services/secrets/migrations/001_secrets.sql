-- Secrets (services/secrets): envelope encryption. Each secret has its own data key (AES-256-GCM); the data key
-- is stored wrapped by a master key, named by its id. No plaintext value is ever stored.

-- The master keys this database has known. `check_value` is a constant sealed under the key: a server proves it
-- holds the key before it uses it. One key is current (new data keys are wrapped by it); others are active (still
-- readable) or retired. A rotation makes a new key current, re-wraps every data key, then retires the old ones.
CREATE TABLE secret_master_keys (
  id          text        PRIMARY KEY,
  check_value bytea       NOT NULL,
  state       text        NOT NULL CHECK (state IN ('current', 'active', 'retired')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);
CREATE UNIQUE INDEX secret_master_keys_one_current ON secret_master_keys (state) WHERE state = 'current';

CREATE TABLE secrets (
  id          uuid        PRIMARY KEY,
  -- Exactly one owner: a project (its members with "execute" get it in the sandbox) or a user (their own LLM keys).
  project_id  uuid        REFERENCES projects (id) ON DELETE CASCADE,
  user_id     uuid        REFERENCES users (id) ON DELETE CASCADE,
  name        text        NOT NULL,
  description text        NOT NULL DEFAULT '',
  -- nonce (12) | tag (16) | ciphertext, under the data key, with the secret's id and owner as associated data.
  ciphertext  bytea       NOT NULL,
  -- The data key: nonce | tag | ciphertext under the master key `key_id`.
  wrapped_key bytea       NOT NULL,
  key_id      text        NOT NULL REFERENCES secret_master_keys (id),
  -- First 8 hex digits of an HMAC of the value under a key derived from the wrapping master key.
  fingerprint text        NOT NULL,
  value_bytes integer     NOT NULL,
  created_by  uuid        REFERENCES users (id) ON DELETE SET NULL,
  updated_by  uuid        REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((project_id IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX secrets_project_name_key ON secrets (project_id, name) WHERE project_id IS NOT NULL;
CREATE UNIQUE INDEX secrets_user_name_key ON secrets (user_id, name) WHERE user_id IS NOT NULL;
CREATE INDEX secrets_key_id_idx ON secrets (key_id);

-- Who created, changed, deleted or used which secret, and when. Kept after the secret is deleted.
CREATE TABLE secret_audit (
  id          bigserial   PRIMARY KEY,
  project_id  uuid        REFERENCES projects (id) ON DELETE CASCADE,
  user_id     uuid        REFERENCES users (id) ON DELETE CASCADE,
  secret_id   uuid,
  secret_name text        NOT NULL,
  action      text        NOT NULL CHECK (action IN ('created', 'updated', 'deleted', 'used')),
  actor_kind  text        NOT NULL,
  actor_id    text,
  -- How it was used: exec, exec.stream, terminal, process, run:<id>.
  context     text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX secret_audit_project_idx ON secret_audit (project_id, id DESC) WHERE project_id IS NOT NULL;
CREATE INDEX secret_audit_user_idx ON secret_audit (user_id, id DESC) WHERE user_id IS NOT NULL;
