/**
 * @weir/sdk: typed fetch client of the Weir REST API, used by the CLI and by workers.
 * Wire types come from @weir/core (api.ts, worker.ts, dlq.ts, log.ts).
 */

// The bundler itself (esbuild) is `@weir/sdk/bundle`; only its types are re-exported here.
export type { BundleOptions, BundleProblem, HandlerBundle } from "./bundle.ts";
export { type LogQueryOptions, type PipelineSpecInput, type UploadOptions, WeirClient } from "./client.ts";
export { type RequestOptions, toError, type WeirClientOptions } from "./http.ts";
export { readSse, type SseEvent } from "./sse.ts";
