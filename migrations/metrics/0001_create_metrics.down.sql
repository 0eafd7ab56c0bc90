DROP TABLE metric_rollups;
DROP INDEX metric_blocks_series_start;
DROP TABLE metric_blocks;
DROP TABLE metric_series_tags;
DROP TABLE metric_series;
