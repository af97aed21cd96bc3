-- Review: proposals (drafts and submitted changes to a product, with the
-- before and after of each change) and their comment threads.
CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    family TEXT NOT NULL,
    author_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author_label TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    changes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    decided_by_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_by_label TEXT,
    decided_at TEXT
);
CREATE INDEX proposals_status ON proposals (status, id);
CREATE INDEX proposals_product ON proposals (product_id, status);
CREATE INDEX proposals_author ON proposals (author_user_id, status);
CREATE UNIQUE INDEX proposals_one_draft ON proposals (product_id, author_user_id) WHERE status = 'draft';

CREATE TABLE proposal_comments (
    id INTEGER PRIMARY KEY,
    proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    author_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author_label TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX proposal_comments_proposal ON proposal_comments (proposal_id, id);
