-- Governed publishing (issue 6). Readiness replaces the completeness table
-- and is written by the publisher, which follows the change log, instead of
-- inside every write (DESIGN: "search index and readiness follow a change log").
DROP TABLE product_completeness;

-- Per product, channel and locale: ready or not, and every reason.
CREATE TABLE product_readiness (
    channel TEXT NOT NULL,
    locale TEXT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    ready BIGINT NOT NULL,
    missing_count BIGINT NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (channel, locale, product_id)
);
CREATE INDEX product_readiness_product ON product_readiness (product_id);

-- The publisher's place in the change log. schema_version is the schema it
-- last judged by; rebuild_after walks every product (by id) after a schema
-- change, alongside the log.
CREATE TABLE publish_cursor (
    name TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    schema_version BIGINT NOT NULL,
    rebuild_after BIGINT
);
INSERT INTO publish_cursor (name, last_seq, schema_version, rebuild_after)
VALUES ('publisher', 0, -1, NULL);

-- Per channel and product: where it stands, the hash of the payload last
-- published (equal hashes publish nothing), the event that carried that
-- payload (`seq`: the payload is stored once, in the event), and why it is
-- held. A held product keeps its last good payload with fast-lane values
-- laid over it. No foreign key:
-- a delete stays recorded whatever happens to the product row.
CREATE TABLE publications (
    channel TEXT NOT NULL,
    product_id BIGINT NOT NULL,
    sku TEXT NOT NULL,
    group_key TEXT NOT NULL,
    state TEXT NOT NULL,
    hash TEXT,
    reasons TEXT,
    seq BIGINT NOT NULL,
    published_at TEXT NOT NULL,
    PRIMARY KEY (channel, product_id)
);
CREATE INDEX publications_export ON publications (channel, group_key, sku);
-- The publisher loads every channel's publication of the products it judges.
CREATE INDEX publications_product ON publications (product_id);

-- Per channel, a gapless sequence of upserts and deletes, numbered from the
-- counter row 'feed:<channel>' locked in the publishing transaction.
CREATE TABLE feed_events (
    channel TEXT NOT NULL,
    seq BIGINT NOT NULL,
    op TEXT NOT NULL,
    product_id BIGINT NOT NULL,
    sku TEXT NOT NULL,
    payload TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (channel, seq)
);

-- Manual channels: products with changes waiting for "publish pending".
CREATE TABLE publish_pending (
    channel TEXT NOT NULL,
    product_id BIGINT NOT NULL,
    PRIMARY KEY (channel, product_id)
);

-- The last feed page each token pulled, for the channel page.
CREATE TABLE feed_pulls (
    channel TEXT NOT NULL,
    token_id BIGINT NOT NULL,
    token_name TEXT NOT NULL,
    after_seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (channel, token_id)
);
