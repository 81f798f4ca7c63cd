-- OTLP log records flattened by functions/otel-logs, one row per log record.
-- Plain MergeTree: log records have no natural id, so duplicates from a replayed batch are left to
-- the sink's insert_deduplication_token rather than to a merge-time fingerprint.
CREATE TABLE IF NOT EXISTS otel_logs_processed (
    timestamp DateTime64(6) CODEC(Delta, ZSTD(1)),
    observed_timestamp DateTime64(6) CODEC(Delta, ZSTD(1)),
    severity_text LowCardinality(String),
    severity_number UInt8,
    body String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    scope_name LowCardinality(String),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    attributes Map(String, String) CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service_name, timestamp);
