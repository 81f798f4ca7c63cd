-- Spans after functions/filter-enrich: health checks dropped, PII redacted, deploy_env from the pipeline env.
-- ReplacingMergeTree on the span's identity, so a replayed batch collapses at merge time as in 001.
CREATE TABLE IF NOT EXISTS otel_spans_enriched (
    timestamp DateTime64(6) CODEC(Delta, ZSTD(1)),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    service_name LowCardinality(String),
    span_name LowCardinality(String),
    duration_ms Float64 CODEC(ZSTD(1)),
    status_code LowCardinality(String),
    attributes Map(String, String) CODEC(ZSTD(1)),
    redacted_keys Array(LowCardinality(String)),
    deploy_env LowCardinality(String)
) ENGINE = ReplacingMergeTree(timestamp)
PARTITION BY toDate(timestamp)
ORDER BY (deploy_env, service_name, trace_id, span_id);
