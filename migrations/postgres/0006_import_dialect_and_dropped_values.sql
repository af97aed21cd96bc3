-- Imports: the uploaded file's dialect (delimiter, byte-order mark), so
-- errors.csv comes back shaped like the file that was sent, and the mapped
-- values an import could not place (a column the row's family or level does
-- not hold), counted per column instead of dropped silently.
ALTER TABLE import_jobs ADD COLUMN file_delimiter TEXT NOT NULL DEFAULT ',';
ALTER TABLE import_jobs ADD COLUMN file_bom BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE import_jobs ADD COLUMN dropped_rows BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN dropped_values TEXT NOT NULL DEFAULT '[]';
