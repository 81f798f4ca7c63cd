-- otel_traces_processed for old servers (Debian's clickhouse-server 18.16), same name and meaning as
-- ../001_otel_traces_processed.sql. What 18.16 lacks and what replaces it:
--   DateTime64(6)          -> timestamp DateTime('UTC') (seconds) + timestamp_us UInt32 (0..999999)
--   Map(String, String)    -> attributes_keys / attributes_values, parallel Array(String)
--                             (read one: attributes_values[indexOf(attributes_keys, 'http.method')])
--   LowCardinality(String) -> String (experimental behind a setting in 18.16)
--   CODEC(...)             -> dropped (column codecs arrived in 19.x)
-- The weir otel-traces handler writes this shape when the pipeline env has WEIR_TABLE_FLAVOR=legacy.
CREATE TABLE IF NOT EXISTS otel_traces_processed (
    timestamp DateTime('UTC'),
    timestamp_us UInt32,
    trace_id String,
    span_id String,
    parent_span_id String,
    service_name String,
    span_name String,
    duration_ms Float64,
    status_code String,
    attributes_keys Array(String),
    attributes_values Array(String),
    fingerprint String
) ENGINE = ReplacingMergeTree(timestamp)
PARTITION BY toDate(timestamp)
ORDER BY (service_name, fingerprint);
