-- Metric time series: raw points plus count, sum, min and max per minute, hour and day, kept up to
-- date as points are flushed. Times are milliseconds since the Unix epoch (UTC).

-- One row per metric name and tag set.
CREATE TABLE metric_series (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  -- Canonical JSON object of string tags, keys sorted; '{}' for none.
  tags TEXT NOT NULL CHECK (json_valid(tags)),
  type TEXT NOT NULL CHECK (type IN ('gauge', 'counter')),
  -- The newest point flushed, for latest() and listMetrics() without reading points.
  last_time INTEGER,
  last_value REAL,
  created_at INTEGER NOT NULL,
  UNIQUE (name, tags)
) STRICT;

-- One row per tag of a series, so a query by tags finds its series through an index.
CREATE TABLE metric_series_tags (
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  series_id INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
  PRIMARY KEY (key, value, series_id)
) STRICT, WITHOUT ROWID;

-- Raw points in blocks: the points of one series that one flush wrote within one UTC hour. One row
-- per block instead of one per point cuts the B-tree inserts at ingest and the bytes per point.
-- No foreign key here or in metric_rollups: series are never deleted, and the check would cost a
-- lookup per row.
CREATE TABLE metric_blocks (
  series_id INTEGER NOT NULL,
  -- Times of the first and last point; both lie in the same UTC hour.
  start_time INTEGER NOT NULL,
  end_time INTEGER NOT NULL,
  count INTEGER NOT NULL CHECK (count >= 1),
  -- count little-endian float64 times (ascending), then count little-endian float64 values.
  points BLOB NOT NULL CHECK (length(points) = count * 16)
) STRICT;

CREATE INDEX metric_blocks_series_start ON metric_blocks (series_id, start_time);

-- bucket is the start of a UTC minute, hour or day; a row aggregates every point of the series in it.
CREATE TABLE metric_rollups (
  resolution TEXT NOT NULL CHECK (resolution IN ('minute', 'hour', 'day')),
  series_id INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  count INTEGER NOT NULL,
  sum REAL NOT NULL,
  min REAL NOT NULL,
  max REAL NOT NULL,
  PRIMARY KEY (resolution, series_id, bucket)
) STRICT, WITHOUT ROWID;
