/**
 * The one place where errors become HTTP responses: Weir error codes map to 4xx, fastify's own
 * client errors (bad JSON, body too large, wrong content type) keep their 4xx with a Weir code, and
 * anything else is logged and answered with a bare 500 so internals never leak.
 */
import { type ErrorCode, isWeirError } from "@weir/core";
import type { FastifyError, FastifyInstance } from "fastify";

const STATUS: Partial<Record<ErrorCode, number>> = {
  VALIDATION: 400,
  COMPILE_ERROR: 400,
  MISSING_HANDLER_EXPORT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  EGRESS_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SOURCE_ERROR: 502,
  DLQ_ERROR: 502,
};

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return "UNAUTHORIZED";
  if (status === 403) return "FORBIDDEN";
  if (status === 404) return "NOT_FOUND";
  if (status === 409) return "CONFLICT";
  if (status === 413) return "PAYLOAD_TOO_LARGE";
  if (status === 415) return "UNSUPPORTED_MEDIA_TYPE";
  return "VALIDATION";
}

/** Install the error and not-found handlers. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isWeirError(err)) {
      const status = STATUS[err.code] ?? 500;
      if (status >= 500) req.log.error({ err }, "request failed");
      return reply.status(status).send({
        error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
      });
    }
    if (err.validation) {
      // Only reached for schemas outside our TypeBox validator (e.g. a plugin's).
      const issues = err.validation.map((v) => ({
        path: `/${err.validationContext ?? ""}${v.instancePath}`,
        message: v.message ?? "invalid",
      }));
      return reply
        .status(400)
        .send({ error: { code: "VALIDATION", message: err.message, details: { issues } } });
    }
    const status = typeof err.statusCode === "number" ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      const field =
        status === 413 ? "body" : err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ? "content-type" : "body";
      return reply.status(status).send({
        error: {
          code: codeForStatus(status),
          message: err.message,
          details: { issues: [{ path: `/${field}`, message: err.message }] },
        },
      });
    }
    req.log.error({ err }, "unhandled error");
    return reply.status(500).send({ error: { code: "INTERNAL", message: "internal error" } });
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ error: { code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` } });
  });
}
