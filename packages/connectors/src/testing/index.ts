/**
 * Test-only exports (`@weir/connectors/testing`): the shared sink conformance suite. Kept out of the
 * package entry because it imports vitest.
 */
export {
  type ConformanceHarness,
  type ConformanceRow,
  type ConformanceTarget,
  makeBatch,
  runSinkConformance,
} from "../sinks/conformance.ts";
export { type CodecSpy, spyOnDecompression } from "./codec-spy.ts";
export { type ReceivedRequest, Receiver, type Scripted } from "./http-receiver.ts";
export { type JavaCodec, type JavaProduceOptions, javaProduce, kafkaLibsDir } from "./java-producer.ts";
