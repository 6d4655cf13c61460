ALTER TABLE metric_settings DROP COLUMN zone_settled;
DROP TABLE caller_writes;
