DROP TRIGGER config_versions_no_delete;
DROP TRIGGER config_versions_no_update;
DROP TABLE config_versions;
