/**
 * The multi-file handler of fixtures/bundle-handler (a local module and the `uuid` package) and what
 * the bundled-upload tests expect of it: each row's `uid` computed independently (RFC 9562 version 5,
 * SHA-1 from node:crypto), and where its `{"boom": true}` throw is in the original files.
 */
import { createHash } from "node:crypto";
import { fixturePath } from "./fixtures.ts";

/** Absolute path of the fixture handler's entry. */
export const bundleFixtureEntry = (): string => fixturePath("bundle-handler/index.ts");

/** The namespace the fixture passes to uuid's v5 (NAMESPACE in its index.ts). */
export const BUNDLE_FIXTURE_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

/** Where `toRow` throws for `{"boom": true}`: file, line and column in the original sources. */
export const BUNDLE_FIXTURE_THROW = "lib/rows.ts:5:11";

/** The row the fixture writes for `{id, v}`: `uid` is uuid v5 of `weir-<id>` in the namespace. */
export function bundleFixtureRow(id: number, v = ""): { id: number; v: string; uid: string } {
  const ns = Buffer.from(BUNDLE_FIXTURE_NAMESPACE.replaceAll("-", ""), "hex");
  const h = createHash("sha1")
    .update(Buffer.concat([ns, Buffer.from(`weir-${id}`, "utf8")]))
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  const uid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { id, v, uid };
}
