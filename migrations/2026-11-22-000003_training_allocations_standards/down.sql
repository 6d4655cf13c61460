DROP TABLE service_standards;
DROP TABLE resource_allocations;
DROP TABLE training_assignments;
DROP TABLE training_courses;
