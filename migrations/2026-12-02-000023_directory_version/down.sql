DROP TRIGGER topics_directory_version ON topics;
DROP TRIGGER org_units_directory_version ON org_units;
DROP TRIGGER users_directory_version ON users;
DROP FUNCTION bump_directory_version();
DROP TABLE directory_version;
