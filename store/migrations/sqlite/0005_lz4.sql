-- onboarder schema, version 5 (SQLite): nothing to do. On PostgreSQL this
-- version moves the large columns to lz4 compression; SQLite does not
-- compress. The version keeps both schemas numbered alike.
SELECT 1;
