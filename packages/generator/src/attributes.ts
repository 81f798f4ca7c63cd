/**
 * Attribute sets for generated spans. Between them they use every OTLP AnyValue variant: string, bool,
 * int (including one above 2^53 that only survives as a string), double, array, kvlist and bytes.
 * Ints are written as bigint here and turned into strings or numbers by encode.ts.
 */
import type { OtlpAnyValue, OtlpKeyValue } from "@weir/core";
import type { Rng } from "./rng.ts";

export const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
export const bool = (key: string, value: boolean): OtlpKeyValue => ({ key, value: { boolValue: value } });
export const dbl = (key: string, value: number): OtlpKeyValue => ({ key, value: { doubleValue: value } });
/** An int attribute; encode.ts rewrites `intValue` to a string or a number as the style asks. */
export const int = (key: string, value: bigint): OtlpKeyValue => ({ key, value: intValue(value) });

export function intValue(value: bigint): OtlpAnyValue {
  // Held as a string until encoding: it survives structuredClone and JSON, and "string" is the default.
  return { intValue: value.toString() };
}

export const ERRORS: ReadonlyArray<readonly [string, string]> = [
  ["TimeoutError", "upstream request timed out after 3000 ms"],
  ["ConnectionRefused", "connect ECONNREFUSED 10.0.3.17:5432"],
  ["PaymentDeclined", "card declined: insufficient funds"],
  ["NullPointerException", 'Cannot invoke "Order.getId()" because "order" is null'],
];

const USERS = ["alice.smith", "bob.jones", "carol.wu", "dan.okafor"];
const AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "okhttp/4.12.0"];

/** On every span: string, int, bool, double, bytes and an int above 2^53. */
export function commonAttributes(rng: Rng): OtlpKeyValue[] {
  return [
    str("thread.name", rng.pick(["main", "worker-1", "worker-2", "io-3"])),
    int("thread.id", BigInt(rng.int(1, 64))),
    bool("cache.hit", rng.chance(0.3)),
    dbl("sampling.ratio", Math.round(rng.next() * 10_000) / 10_000),
    { key: "app.request.hash", value: { bytesValue: base64(rng.bytes(8)) } },
    // 2^53 + n: a JSON number cannot hold it, so only the string form round-trips.
    int("app.sequence", 9_007_199_254_740_992n + BigInt(rng.int(1, 1_000_000))),
  ];
}

/** Entry-span HTTP attributes, plus an array and a kvlist. */
export function httpServerAttributes(
  rng: Rng,
  method: string,
  route: string,
  error: boolean,
): OtlpKeyValue[] {
  const status = error ? rng.pick([500, 502, 503]) : rng.pick([200, 200, 200, 201, 204, 304, 404]);
  const path = route.replace("{id}", String(rng.int(1000, 9999)));
  return [
    str("http.request.method", method),
    str("http.route", route),
    str("url.path", path),
    int("http.response.status_code", BigInt(status)),
    str("user_agent.original", rng.pick(AGENTS)),
    {
      key: "http.request.header.accept",
      value: { arrayValue: { values: [{ stringValue: "application/json" }, { stringValue: "text/plain" }] } },
    },
    {
      key: "app.request.context",
      value: {
        kvlistValue: {
          values: [
            str("tenant", `t-${rng.int(1, 9)}`),
            int("retries", BigInt(rng.int(0, 3))),
            dbl("priority", rng.int(1, 10) / 2),
            bool("beta", rng.chance(0.2)),
            {
              key: "regions",
              value: { arrayValue: { values: [{ stringValue: "eu-west-1" }, intValue(3n)] } },
            },
          ],
        },
      },
    },
  ];
}

/** Personal data the filter-enrich example redacts. */
export function piiAttributes(rng: Rng): OtlpKeyValue[] {
  const user = rng.pick(USERS);
  return [
    str("user.email", `${user}@example.com`),
    str("enduser.id", `u-${rng.int(10_000, 99_999)}`),
    str("http.request.header.authorization", `Bearer ${rng.hex(16)}`),
    str("app.note", `customer ${user}@example.com paid with 4111 1111 1111 1111`),
  ];
}

export function dbAttributes(rng: Rng, name: string): OtlpKeyValue[] {
  return [
    str("db.system", "postgresql"),
    str("db.query.text", `${name} WHERE id = $1`),
    int("db.response.returned_rows", BigInt(rng.int(0, 500))),
  ];
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard padded base64, as proto3 JSON writes `bytes`. */
export function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const [a = 0, b = 0, c = 0] = [bytes[i], bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | (b << 8) | c;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63]! : "=";
    out += i + 2 < bytes.length ? B64[n & 63]! : "=";
  }
  return out;
}
