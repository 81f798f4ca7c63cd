/** How a Kafka source's `format` (and `signal`) maps to the sandbox's message format. */
import type { KafkaSourceConfig } from "@weir/core";
import type { MessageFormat } from "./types.ts";

/**
 * The sandbox format for a source: `json` and `otlp_json` are parsed as JSON, `text` passes the
 * string, `otlp_proto` decodes the OTLP request of `signal` (traces unless set to logs).
 */
export function sandboxFormat(source: Pick<KafkaSourceConfig, "format" | "signal">): MessageFormat {
  switch (source.format) {
    case "text":
      return "text";
    case "otlp_proto":
      return source.signal === "logs" ? "otlp_proto_logs" : "otlp_proto_traces";
    default:
      return "json";
  }
}

/** Whether messages of this format reach the sandbox as bytes rather than text. */
export function isBinaryFormat(format: MessageFormat): boolean {
  return format === "otlp_proto_traces" || format === "otlp_proto_logs";
}
