/**
 * `@weir/sdk/core`: Weir's shared definitions (error codes and WeirError, the pipeline spec and its
 * parser, API wire types, log records, the handler contract and OTLP JSON types), re-exported so that
 * a published package has one copy of them (the CLI imports them from here).
 */
export * from "@weir/core";
