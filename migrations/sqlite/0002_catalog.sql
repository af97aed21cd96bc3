-- Catalog: the schema (one JSON definition per entity), products with their
-- values as one JSON document per row, version history and the change log.
CREATE TABLE catalog_schema (
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    position INTEGER NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (kind, code)
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('change_log', 0), ('schema', 0);

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL,
    sku_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    family TEXT NOT NULL,
    parent_id INTEGER REFERENCES products (id),
    axis_key TEXT,
    enabled INTEGER NOT NULL,
    categories TEXT NOT NULL,
    product_values TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT products_sku_key UNIQUE (sku_key),
    CONSTRAINT products_axis_key UNIQUE (parent_id, axis_key)
);
CREATE INDEX products_family ON products (family, sku_key);
CREATE INDEX products_parent ON products (parent_id);
CREATE INDEX products_updated ON products (updated_at, id);

CREATE TABLE product_categories (
    category TEXT NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (category, product_id)
);
CREATE INDEX product_categories_product ON product_categories (product_id);

CREATE TABLE product_completeness (
    channel TEXT NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    missing_count INTEGER NOT NULL,
    missing TEXT NOT NULL,
    PRIMARY KEY (channel, product_id)
);
CREATE INDEX product_completeness_product ON product_completeness (product_id);

CREATE TABLE product_versions (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_label TEXT NOT NULL,
    actor_user_id INTEGER,
    changes TEXT NOT NULL,
    CONSTRAINT product_versions_key UNIQUE (product_id, version)
);

CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL,
    sku TEXT NOT NULL,
    version INTEGER NOT NULL,
    at TEXT NOT NULL
);
