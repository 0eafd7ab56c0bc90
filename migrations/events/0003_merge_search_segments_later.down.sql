-- Back to FTS5's default.
INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 4);
