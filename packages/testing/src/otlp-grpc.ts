/**
 * Send OTLP export requests to a Collector's OTLP/gRPC receiver, the way an SDK's exporter does, so
 * a test knows exactly which spans and log records went in. The request is protobuf bytes (for
 * example from @weir/otlp/testing's encoders); @grpc/grpc-js carries them as a unary call without
 * loading the .proto files (the bytes are already the serialized message).
 */
import * as grpc from "@grpc/grpc-js";

const METHODS = {
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
} as const;

/** An OTLP/gRPC client for one Collector (`host:port` on loopback); close it after use. */
export interface OtlpGrpcClient {
  /** Export one request; resolves when the receiver accepted it (rejects on any gRPC error). */
  export(signal: keyof typeof METHODS, request: Uint8Array): Promise<void>;
  close(): void;
}

export function otlpGrpcClient(endpoint: string): OtlpGrpcClient {
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(endpoint)) {
    throw new Error(`otlpGrpcClient sends to loopback only, not ${endpoint}`);
  }
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  return {
    export(signal, request) {
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          METHODS[signal],
          (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          (reply: Buffer) => reply,
          request,
          { deadline: Date.now() + 30_000 },
          (err) => (err ? reject(err) : resolve()),
        );
      });
    },
    close: () => client.close(),
  };
}
