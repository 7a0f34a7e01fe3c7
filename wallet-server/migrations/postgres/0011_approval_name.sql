-- Issue 14, points 8 and 10.
--
-- The console keeps the signed-in staff member's name from the identity provider's claims,
-- so an approved табель names its director (not a token subject).
ALTER TABLE console_sessions ADD COLUMN display_name TEXT;
