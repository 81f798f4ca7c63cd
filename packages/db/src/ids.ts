import { randomBytes } from "node:crypto";

/** A short unique id with a type prefix, e.g. `pl_3f9a1c0b7d2e4a61`. 64 random bits. */
export function newId(prefix: "pl" | "hv" | "tok" | "prj"): string {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}
