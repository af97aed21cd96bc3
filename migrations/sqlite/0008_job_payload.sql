-- What a job needs beyond its target, as JSON: a schema change's desired
-- schema, the version it was judged against and its plan.
ALTER TABLE jobs ADD COLUMN payload TEXT;
