-- Media (DAM): one row per stored file, identified by the SHA-256 of its
-- bytes (the same bytes are stored once). `id` is the hash's first 16 hex
-- digits: what products' `assets` values and URLs name.
CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    -- As shown: after the EXIF orientation is applied. NULL for documents.
    width INTEGER,
    height INTEGER,
    orientation INTEGER NOT NULL DEFAULT 1,
    alt_text TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'pending',
    reject_reason TEXT,
    uploaded_by TEXT NOT NULL,
    uploaded_by_user BIGINT REFERENCES users (id) ON DELETE SET NULL,
    decided_by TEXT,
    decided_at TEXT,
    -- Renditions are made by a worker: queued → done (or failed, with why).
    renditions TEXT NOT NULL DEFAULT 'queued',
    renditions_error TEXT,
    renditions_lease TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX assets_status ON assets (status, created_at);
CREATE INDEX assets_renditions ON assets (renditions);

-- A made rendition: its object key holds the preset's spec hash, so a
-- changed preset makes new files.
CREATE TABLE asset_renditions (
    asset_id TEXT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    preset TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    object_key TEXT NOT NULL,
    media_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (asset_id, preset, spec_hash)
);
