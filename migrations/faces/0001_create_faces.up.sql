-- Persons and their face encodings. Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE persons (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  list TEXT NOT NULL CHECK (list IN ('known', 'blacklist')),
  reason TEXT,
  metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX persons_list_name ON persons (list, name);

-- One row per model: its dimension is fixed by the first encoding, so vectors of two models never mix,
-- and its metric by the storage options in force then.
CREATE TABLE face_models (
  name TEXT PRIMARY KEY,
  dimension INTEGER NOT NULL CHECK (dimension BETWEEN 1 AND 4096),
  metric TEXT NOT NULL CHECK (metric IN ('l2', 'cosine')),
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE encodings (
  id INTEGER PRIMARY KEY,
  person_id TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
  model TEXT NOT NULL REFERENCES face_models (name),
  dimension INTEGER NOT NULL,
  -- Little-endian float32 components, exactly as given (not normalized).
  vector BLOB NOT NULL CHECK (length(vector) = dimension * 4),
  created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX encodings_person ON encodings (person_id);
CREATE INDEX encodings_model ON encodings (model, id);
