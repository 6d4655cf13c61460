DROP TABLE customers;
DROP TABLE users;
DROP TABLE topics;
DROP TABLE org_units;
DROP FUNCTION org_units_repath_descendants();
DROP FUNCTION org_units_set_path();
DROP FUNCTION touch_updated_at();
