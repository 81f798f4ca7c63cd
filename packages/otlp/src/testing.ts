/**
 * Test-only exports (`@weir/otlp/testing`): OTLP JSON to protobuf bytes with the generated encoder,
 * and the otlp_json normalisation, for other packages' tests of the otlp_proto path.
 */
export { encodeLogs, encodeTraces, normalise } from "./test-helpers.ts";
