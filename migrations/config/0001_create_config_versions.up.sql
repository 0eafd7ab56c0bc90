-- Every version of every configuration document. A change adds a row; rows are never changed or
-- deleted, so a rollback is a new version equal to an old one. Times are milliseconds since the Unix
-- epoch (UTC).
CREATE TABLE config_versions (
  key TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  -- Canonical JSON (sorted keys, no whitespace), so equal documents have equal checksums.
  value TEXT NOT NULL CHECK (json_valid(value)),
  -- Hex SHA-256 of value.
  checksum TEXT NOT NULL,
  author TEXT NOT NULL,
  comment TEXT,
  operation TEXT NOT NULL CHECK (operation IN ('set', 'patch', 'rollback')),
  -- The version a rollback restored; NULL for set and patch.
  restored_version INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (key, version)
) STRICT;

CREATE TRIGGER config_versions_no_update BEFORE UPDATE ON config_versions
BEGIN
  SELECT RAISE(ABORT, 'config_versions is append-only: history is never rewritten');
END;

CREATE TRIGGER config_versions_no_delete BEFORE DELETE ON config_versions
BEGIN
  SELECT RAISE(ABORT, 'config_versions is append-only: history is never rewritten');
END;
