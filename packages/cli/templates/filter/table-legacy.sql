-- otel_spans_enriched for old servers (Debian's clickhouse-server 18.16); see ../003_otel_spans_enriched.sql
-- and legacy/001 for the type substitutions. Written by functions/filter-enrich with WEIR_TABLE_FLAVOR=legacy.
CREATE TABLE IF NOT EXISTS otel_spans_enriched (
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
    redacted_keys Array(String),
    deploy_env String
) ENGINE = ReplacingMergeTree(timestamp)
PARTITION BY toDate(timestamp)
ORDER BY (deploy_env, service_name, trace_id, span_id);
