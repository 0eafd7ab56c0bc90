-- Events flagged to keep (evidence an operator wants to hold on to) are never deleted by retention.
ALTER TABLE events ADD COLUMN keep INTEGER NOT NULL DEFAULT 0 CHECK (keep IN (0, 1));
