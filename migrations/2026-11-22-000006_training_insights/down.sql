ALTER TABLE training_assignments DROP COLUMN need;
ALTER TABLE training_courses DROP COLUMN addressed_metrics;
