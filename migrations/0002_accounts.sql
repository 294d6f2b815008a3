-- Accounts: users who sign in, as students or administrators.
--
-- `email` is stored normalized (trimmed, lowercased) by the application, so the unique
-- constraint alone makes registration race-free (INSERT ... ON CONFLICT DO NOTHING).
-- `password_hash` is an argon2id PHC string. Sessions are not here: they live in the
-- key-value store, keyed by a hash of the cookie's id.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = btrim(email) AND email LIKE '%_@_%'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'student' CHECK (role IN ('student', 'admin')),
    created_at    timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);
