-- otel_logs_processed for old servers (Debian's clickhouse-server 18.16); see ../002_otel_logs_processed.sql
-- and legacy/001 for the type substitutions. Written by functions/otel-logs with WEIR_TABLE_FLAVOR=legacy.
CREATE TABLE IF NOT EXISTS otel_logs_processed (
    timestamp DateTime('UTC'),
    timestamp_us UInt32,
    observed_timestamp DateTime('UTC'),
    observed_timestamp_us UInt32,
    severity_text String,
    severity_number UInt8,
    body String,
    service_name String,
    scope_name String,
    trace_id String,
    span_id String,
    attributes_keys Array(String),
    attributes_values Array(String)
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, timestamp);
