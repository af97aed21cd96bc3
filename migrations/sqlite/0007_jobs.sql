-- Background jobs: long actions a person asks for (republish a channel),
-- queued here and run by one worker at a time in resumable steps. A worker
-- holds a job by its lease; a job whose lease ran out is taken over.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    done_count INTEGER NOT NULL DEFAULT 0,
    total_count INTEGER,
    resume_after INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '{}',
    message TEXT,
    actor_kind TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_label TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
CREATE INDEX jobs_status ON jobs (status, id);
