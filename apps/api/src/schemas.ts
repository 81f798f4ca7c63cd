/** Small schema helpers shared by the route plugins. */
import { type TSchema, Type } from "@sinclair/typebox";
import { ApiErrorBody } from "@weir/core";

/** Response map with the error body declared for 4xx and 5xx, so OpenAPI shows both. */
export function responses(ok: Record<number, TSchema>): Record<string, TSchema> {
  return { ...ok, "4xx": ApiErrorBody, "5xx": ApiErrorBody };
}

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const Empty = Type.Null({ description: "No content" });
