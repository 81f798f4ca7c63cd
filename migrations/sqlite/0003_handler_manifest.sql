-- Bundled handler uploads (issue 18): what a bundle was made of (entry, files with sha256, npm
-- packages and versions) as JSON. NULL for a raw single-file upload and for every earlier version.
ALTER TABLE handler_versions ADD COLUMN manifest_json TEXT;
