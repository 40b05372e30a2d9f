-- Portable SQL: runs unchanged on SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (email);

CREATE TABLE IF NOT EXISTS orders (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    items       TEXT NOT NULL,
    currency    TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    status      TEXT NOT NULL,
    payment_id  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS orders_request_id_key ON orders (request_id);
CREATE INDEX IF NOT EXISTS orders_user_id_idx ON orders (user_id, id);
CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status, updated_at);
