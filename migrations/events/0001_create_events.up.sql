-- Security events. Times are milliseconds since the Unix epoch (UTC).
--
-- seq is timestamp * 16384 + n, where n (0..16383) numbers the events of one millisecond in insert
-- order. The table is therefore stored in time order: time ranges, newest-first listings and cursors
-- are rowid ranges, every secondary index ends in time order, and the full-text index (keyed by
-- seq) returns matches newest first without sorting.
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  end_time INTEGER,
  source TEXT NOT NULL,
  confidence REAL CHECK (confidence BETWEEN 0 AND 1),
  label TEXT,
  sub_label TEXT,
  -- A face person's id, deliberately without a foreign key: deleting a person keeps their events.
  person_id TEXT,
  stage TEXT,
  -- JSON text written by EventStore with JSON.stringify; no json_valid() check, which would parse
  -- every value again on insert.
  data TEXT NOT NULL DEFAULT '{}',
  enrichments TEXT NOT NULL DEFAULT '{}',
  errors TEXT NOT NULL DEFAULT '[]',
  -- Number of entries in errors, so "has errors" is answered by a small partial index in time order.
  error_count INTEGER NOT NULL DEFAULT 0,
  parent_id TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (seq - timestamp * 16384 BETWEEN 0 AND 16383)
) STRICT;

-- Each index implicitly ends in seq, so an equality on its column returns events in time order and
-- a time range is a seq range inside it.
CREATE INDEX events_source ON events (source);
CREATE INDEX events_type ON events (type);
CREATE INDEX events_label ON events (label) WHERE label IS NOT NULL;
CREATE INDEX events_person ON events (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX events_parent ON events (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX events_with_errors ON events (seq) WHERE error_count > 0;

-- Full-text index over label, sub_label and the string values of data, keyed by events.seq. It
-- stores no copy of the text; EventStore writes it in the same transaction as the event.
CREATE VIRTUAL TABLE events_fts USING fts5 (
  label, sub_label, data,
  content = '', contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);

-- Event counts per UTC hour (period 0) and UTC day (period 1), each keyed by its first millisecond:
-- by type (dimension 0), source (1) and label (2), plus all events per hour (dimension 3, value '').
-- EventStore keeps it in step with events in the same transaction, so statistics over days read a
-- few hundred rows instead of every event.
CREATE TABLE event_rollup (
  period INTEGER NOT NULL CHECK (period IN (0, 1)),
  dimension INTEGER NOT NULL CHECK (dimension IN (0, 1, 2, 3)),
  start INTEGER NOT NULL,
  value TEXT NOT NULL,
  events INTEGER NOT NULL,
  confidence_sum REAL NOT NULL,
  confidence_count INTEGER NOT NULL,
  PRIMARY KEY (period, dimension, start, value)
) WITHOUT ROWID, STRICT;
