/**
 * Mapping of the messages shared by traces and logs (AnyValue, KeyValue, Resource, scope, ids) from
 * protobufjs' decoded objects to the otlp_json shape, field by field in pdata's order and with
 * pdata's omissions (generated_proto_*.go MarshalJSON in go.opentelemetry.io/collector/pdata).
 */
import { type Int64Like, isZero64, signedString, toBase64, toHex, unsignedString } from "./bytes.ts";
import type { opentelemetry } from "./generated/otlp.js";
import type { AnyValueJson, EntityRefJson, KeyValueJson, ResourceJson, ScopeJson } from "./types.ts";

type common = typeof opentelemetry.proto.common.v1;
export type PbAnyValue = InstanceType<common["AnyValue"]>;
export type PbKeyValue = InstanceType<common["KeyValue"]>;
export type PbScope = InstanceType<common["InstrumentationScope"]>;
export type PbResource = InstanceType<typeof opentelemetry.proto.resource.v1.Resource>;

/** Decoded messages are typed loosely by pbts (`$Properties`); the decoder always fills these. */
type Loose<T> = { [K in keyof T]?: T[K] | null };

/**
 * An id as pdata writes it: absent when empty or all zero, lower-case hex otherwise. pdata refuses
 * any other length than the id's size, so this does too.
 */
export function id(bytes: Uint8Array | null | undefined, size: number, what: string): string | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  if (bytes.length !== size) throw new Error(`${what} has ${bytes.length} bytes, want ${size}`);
  for (let i = 0; i < size; i++) if (bytes[i] !== 0) return toHex(bytes);
  return undefined;
}

/** A fixed64 timestamp as a decimal string, absent when zero. */
export function time(v: Int64Like | null | undefined): string | undefined {
  return v == null || isZero64(v) ? undefined : unsignedString(v);
}

/** Doubles as pdata's stream writes them: non-finite values become strings. */
function double(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** An AnyValue: `{}` when no case is set (pdata writes the empty object). */
export function anyValue(v: Loose<PbAnyValue> | null | undefined): AnyValueJson {
  if (!v) return {};
  // protobufjs' oneof setter deletes the other members, so at most one of these is set.
  if (v.stringValue != null) return { stringValue: v.stringValue };
  if (v.intValue != null) return { intValue: signedString(v.intValue) };
  if (v.boolValue != null) return { boolValue: v.boolValue };
  if (v.doubleValue != null) return { doubleValue: double(v.doubleValue) };
  if (v.arrayValue != null) {
    const values = v.arrayValue.values;
    if (!values || values.length === 0) return { arrayValue: {} };
    const out: AnyValueJson[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = anyValue(values[i]);
    return { arrayValue: { values: out } };
  }
  if (v.kvlistValue != null) {
    const values = keyValues(v.kvlistValue.values);
    return { kvlistValue: values ? { values } : {} };
  }
  if (v.bytesValue != null) return { bytesValue: toBase64(v.bytesValue) };
  if (v.stringValueStrindex != null) return { stringValueStrindex: v.stringValueStrindex };
  return {};
}

/** A KeyValue list, or undefined when empty (pdata omits empty repeated fields). */
export function keyValues(list: Loose<PbKeyValue>[] | null | undefined): KeyValueJson[] | undefined {
  if (!list || list.length === 0) return undefined;
  const out: KeyValueJson[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const kv = list[i]!;
    const o: KeyValueJson = kv.key
      ? { key: kv.key, value: anyValue(kv.value) }
      : { value: anyValue(kv.value) };
    if (kv.keyStrindex) o.keyStrindex = kv.keyStrindex;
    out[i] = o;
  }
  return out;
}

/** A Resource: always an object (pdata writes `"resource":{}` when unset). */
export function resource(r: Loose<PbResource> | null | undefined): ResourceJson {
  const o: ResourceJson = {};
  if (!r) return o;
  const attributes = keyValues(r.attributes);
  if (attributes) o.attributes = attributes;
  if (r.droppedAttributesCount) o.droppedAttributesCount = r.droppedAttributesCount;
  if (r.entityRefs && r.entityRefs.length > 0) {
    o.entityRefs = r.entityRefs.map((e) => {
      const ref: EntityRefJson = {};
      if (e.schemaUrl) ref.schemaUrl = e.schemaUrl;
      if (e.type) ref.type = e.type;
      if (e.idKeys && e.idKeys.length > 0) ref.idKeys = e.idKeys.slice();
      if (e.descriptionKeys && e.descriptionKeys.length > 0) ref.descriptionKeys = e.descriptionKeys.slice();
      return ref;
    });
  }
  return o;
}

/** An InstrumentationScope: always an object (pdata writes `"scope":{}` when unset). */
export function scope(s: Loose<PbScope> | null | undefined): ScopeJson {
  const o: ScopeJson = {};
  if (!s) return o;
  if (s.name) o.name = s.name;
  if (s.version) o.version = s.version;
  const attributes = keyValues(s.attributes);
  if (attributes) o.attributes = attributes;
  if (s.droppedAttributesCount) o.droppedAttributesCount = s.droppedAttributesCount;
  return o;
}
