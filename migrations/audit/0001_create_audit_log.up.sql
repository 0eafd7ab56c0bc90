-- Append-only audit records. Each record's hash is the SHA-256 of its id, time, actor, action, target,
-- details and the previous record's hash (see src/audit/audit-hash.ts), so an edited, deleted or
-- reordered record breaks the chain. Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  -- Canonical JSON (sorted keys, no whitespace): the exact bytes that were hashed.
  details TEXT NOT NULL,
  previous_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_time ON audit_log (time, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_target ON audit_log (target, id);

-- The newest record's id and hash, written with every append: without it, deleting the newest
-- records would leave a shorter chain that still verifies.
CREATE TABLE audit_head (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  last_id INTEGER NOT NULL,
  last_hash TEXT NOT NULL
) STRICT;

INSERT INTO audit_head (singleton, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Porchlight never changes or deletes a record; these stop a mistaken statement. They do not stop
-- someone who can drop them, which is what the hash chain is for.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: records cannot be changed');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only: records cannot be deleted');
END;
