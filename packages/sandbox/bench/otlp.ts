/** Synthetic OTLP/JSON trace messages shaped like the Collector's Kafka exporter output. */

function hex(bytes: number, rand: () => number): string {
  let s = "";
  for (let i = 0; i < bytes; i++)
    s += Math.floor(rand() * 256)
      .toString(16)
      .padStart(2, "0");
  return s;
}

/** A small deterministic PRNG so every run measures the same payloads. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` messages of `spansPerMessage` spans each, as the JSON strings Kafka would deliver. */
export function otlpMessages(count: number, spansPerMessage: number, seed = 1): string[] {
  const rand = mulberry32(seed);
  const out: string[] = [];
  const base = 1_700_000_000_000_000_000n;
  for (let m = 0; m < count; m++) {
    const traceId = hex(16, rand);
    const spans = [];
    for (let i = 0; i < spansPerMessage; i++) {
      const start = base + BigInt(m) * 1_000_000_000n + BigInt(i) * 3_000_000n;
      // ~20% of spans are under 1 ms and get dropped by the handler, as in the seed.
      const durationNs = BigInt(Math.floor((rand() < 0.2 ? rand() * 0.9 : 1 + rand() * 250) * 1_000_000));
      spans.push({
        traceId,
        spanId: hex(8, rand),
        parentSpanId: i === 0 ? "" : hex(8, rand),
        name: ["GET /api/orders", "SELECT orders", "redis GET", "POST /checkout"][i % 4],
        kind: 2,
        startTimeUnixNano: String(start),
        endTimeUnixNano: String(start + durationNs),
        attributes: [
          { key: "http.method", value: { stringValue: "GET" } },
          { key: "http.route", value: { stringValue: "/api/orders/:id" } },
          { key: "http.status_code", value: { intValue: "200" } },
          { key: "net.peer.name", value: { stringValue: "orders.internal" } },
          { key: "retry", value: { boolValue: false } },
        ],
        status: { code: i % 10 === 0 ? "STATUS_CODE_ERROR" : "STATUS_CODE_OK" },
      });
    }
    out.push(
      JSON.stringify({
        resourceSpans: [
          {
            resource: {
              attributes: [
                { key: "service.name", value: { stringValue: `checkout-${m % 5}` } },
                { key: "host.name", value: { stringValue: "node-1" } },
              ],
            },
            scopeSpans: [{ scope: { name: "io.opentelemetry.http", version: "1.0.0" }, spans }],
          },
        ],
      }),
    );
  }
  return out;
}
