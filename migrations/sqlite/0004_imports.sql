-- Imports: mapping profiles (TOML as saved), import jobs with their counts
-- and resume point, and the failed rows with their errors.
CREATE TABLE mapping_profiles (
    code TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE import_jobs (
    id INTEGER PRIMARY KEY,
    profile TEXT NOT NULL,
    profile_definition TEXT NOT NULL,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    origin TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_path TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_bytes INTEGER NOT NULL,
    idempotency_key TEXT,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_kind TEXT NOT NULL,
    actor_label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    heartbeat_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    resume_row INTEGER NOT NULL DEFAULT 1,
    header TEXT NOT NULL DEFAULT '[]',
    read_count INTEGER NOT NULL DEFAULT 0,
    created_count INTEGER NOT NULL DEFAULT 0,
    updated_count INTEGER NOT NULL DEFAULT 0,
    unchanged_count INTEGER NOT NULL DEFAULT 0,
    proposed_count INTEGER NOT NULL DEFAULT 0,
    disabled_count INTEGER NOT NULL DEFAULT 0,
    failed_count INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]',
    message TEXT
);
CREATE UNIQUE INDEX import_jobs_idempotency ON import_jobs (user_id, idempotency_key);
CREATE INDEX import_jobs_status ON import_jobs (status, id);

CREATE TABLE import_failed_rows (
    job_id INTEGER NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    cells TEXT NOT NULL,
    PRIMARY KEY (job_id, row_number)
);

CREATE TABLE import_errors (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    column_name TEXT,
    value TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX import_errors_job ON import_errors (job_id, kind, row_number);

-- What the last import that wrote a product read for it (a digest of the
-- row, the profile and the schema version): the same row again is
-- unchanged without loading the product.
ALTER TABLE products ADD COLUMN import_digest TEXT;
