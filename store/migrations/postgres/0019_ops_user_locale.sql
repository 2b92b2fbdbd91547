-- onboarder schema, version 19 (PostgreSQL): the console language an ops user
-- chose ('en' or 'de'), kept on the user so it follows them from browser to
-- browser; '' until they choose (the browser's Accept-Language counts).
ALTER TABLE ops_users ADD COLUMN locale TEXT NOT NULL DEFAULT '' CHECK (locale IN ('', 'en', 'de'));
