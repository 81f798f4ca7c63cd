/**
 * Route validation with TypeBox instead of fastify's default ajv setup. Why: the default coerces
 * types everywhere (`"name": 123` would become "123") and strips unknown properties silently; here
 * bodies are checked strictly, only params and query strings are converted from text, and every
 * failure names the field (`/body/sink/config/table`) and the reason.
 */
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import { WeirError } from "@weir/core";
import type { FastifyInstance } from "fastify";

export function installValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const typed = schema as TSchema;
    const checker = TypeCompiler.Compile(typed);
    const part = httpPart ?? "body";
    return (data: unknown) => {
      let value = data;
      if (part !== "body") value = Value.Convert(typed, Value.Clone(data));
      value = Value.Default(typed, value);
      if (checker.Check(value)) return { value };
      const issues = [...checker.Errors(value)]
        .slice(0, 20)
        .map((e) => ({ path: `/${part}${e.path}`, message: e.message }));
      const first = issues[0];
      return {
        error: new WeirError("VALIDATION", first ? `${first.path}: ${first.message}` : `invalid ${part}`, {
          details: { issues },
        }),
      };
    };
  });
}
