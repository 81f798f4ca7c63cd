/**
 * Handler upload (raw body or multipart), versions, rollback and the served type definitions.
 * Uploads are compiled by the sandbox's compiler (esbuild) so that what is stored is exactly what
 * workers load; a version is immutable once stored.
 */
import { createHash } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { HandlerVersionDetail, HandlerVersionView, PipelineView, VersionList, WeirError } from "@weir/core";
import {
  getVersion,
  getVersionById,
  type HandlerVersionRow,
  insertVersion,
  listVersions,
  updatePipeline,
} from "@weir/db";
import { compileHandler } from "@weir/sandbox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppContext } from "../context.ts";
import { handlerTypes } from "../handler-types.ts";
import { mustGetPipeline, toView } from "../pipelines-service.ts";
import { IdParams, responses } from "../schemas.ts";

/** Content types accepted for a raw-body upload. `video/mp2t` is what some tools guess for `.ts`. */
export const HANDLER_CONTENT_TYPES = [
  "application/typescript",
  "application/x-typescript",
  "text/typescript",
  "text/x-typescript",
  "video/mp2t",
  "application/octet-stream",
];

const TS_NAME = /^[\w.-]{1,128}\.(ts|mts|cts)$/;

function badFile(path: string, message: string): WeirError {
  return new WeirError("VALIDATION", `${path}: ${message}`, { details: { issues: [{ path, message }] } });
}

/** Bytes to text, refusing what is clearly not a TypeScript source file. */
function decodeSource(bytes: Buffer, path: string): string {
  if (bytes.length === 0) throw badFile(path, "the file is empty");
  if (bytes.includes(0))
    throw badFile(path, "not a text file (contains NUL bytes); upload a TypeScript source file");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw badFile(path, "not UTF-8 text; upload a TypeScript source file");
  }
}

async function readUpload(
  req: FastifyRequest,
  maxBytes: number,
): Promise<{ source: string; filename: string }> {
  const query = req.query as { filename?: string };
  if (req.isMultipart()) {
    const part = await req.file({ limits: { fileSize: maxBytes, files: 1 } });
    if (!part) throw badFile("/body/file", "multipart body has no file part");
    if (part.fieldname !== "file")
      throw badFile(`/body/${part.fieldname}`, 'the file field must be named "file"');
    const bytes = await part.toBuffer();
    const filename = part.filename || query.filename || "handler.ts";
    if (!TS_NAME.test(filename)) throw badFile("/body/file", `"${filename}" is not a .ts file name`);
    return { source: decodeSource(bytes, "/body/file"), filename };
  }
  const body = req.body;
  const bytes =
    typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.isBuffer(body) ? body : undefined;
  if (!bytes)
    throw new WeirError(
      "UNSUPPORTED_MEDIA_TYPE",
      "send the handler as a raw TypeScript body or multipart/form-data",
    );
  const filename = query.filename ?? "handler.ts";
  if (!TS_NAME.test(filename)) throw badFile("/querystring/filename", `"${filename}" is not a .ts file name`);
  return { source: decodeSource(bytes, "/body"), filename };
}

function versionView(row: HandlerVersionRow, currentId: string | null): HandlerVersionView {
  return {
    id: row.id,
    pipeline_id: row.pipelineId,
    version: row.version,
    filename: row.filename,
    sha256: row.sha256,
    size: row.size,
    created_at: row.createdAt,
    current: row.id === currentId,
  };
}

export async function handlerRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["handlers"];
  const max = ctx.env.WEIR_MAX_HANDLER_BYTES;

  app.put<{ Params: { id: string }; Querystring: { filename?: string } }>(
    "/v1/pipelines/:id/handler",
    {
      bodyLimit: max,
      schema: {
        tags,
        summary: "Upload a TypeScript handler (raw body or multipart field `file`); stores a new version",
        description: `Raw body content types: text/plain, ${HANDLER_CONTENT_TYPES.join(", ")}. Max ${max} bytes (413 above). Compile errors: 400 with details.diagnostics [{line, column, message}].`,
        consumes: ["text/plain", ...HANDLER_CONTENT_TYPES, "multipart/form-data"],
        params: IdParams,
        querystring: Type.Object({ filename: Type.Optional(Type.String({ maxLength: 128 })) }),
        response: responses({ 200: HandlerVersionView, 201: HandlerVersionView }),
      },
    },
    async (req, reply) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      const { source, filename } = await readUpload(req, max);
      const size = Buffer.byteLength(source, "utf8");
      if (size > max)
        throw new WeirError("PAYLOAD_TOO_LARGE", `handler is ${size} bytes; the limit is ${max}`);
      const sha256 = createHash("sha256").update(source, "utf8").digest("hex");
      // Same source as the current version: nothing to deploy, answer with that version.
      const current = pipeline.currentVersionId
        ? getVersionById(ctx.db, pipeline.currentVersionId)
        : undefined;
      if (current && current.sha256 === sha256 && current.filename === filename) {
        return reply.status(200).send(versionView(current, current.id));
      }
      const compiled = await compileHandler(source, { filename });
      if (!compiled.ok) {
        const missing = compiled.diagnostics.some(
          (d) => (d as { code?: string }).code === "MISSING_HANDLER_EXPORT",
        );
        const first = compiled.diagnostics[0];
        const where = first && first.line > 0 ? `${filename}:${first.line}:${first.column}: ` : "";
        throw new WeirError(
          missing ? "MISSING_HANDLER_EXPORT" : "COMPILE_ERROR",
          `${where}${first?.message ?? "compile failed"}`,
          {
            details: {
              diagnostics: compiled.diagnostics.map((d) => ({
                line: d.line,
                column: d.column,
                message: d.message,
              })),
            },
          },
        );
      }
      const row = insertVersion(ctx.db, pipeline.id, {
        filename,
        source,
        code: compiled.code,
        sourceMap: compiled.sourceMap ?? null,
        sha256,
        size,
      });
      if (!row) throw new WeirError("NOT_FOUND", `pipeline ${pipeline.id} not found`);
      req.log.info({ pipeline: pipeline.id, version: row.version, sha256 }, "handler version stored");
      return reply.status(201).send(versionView(row, row.id));
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/pipelines/:id/versions",
    {
      schema: {
        tags,
        summary: "List handler versions, newest first",
        params: IdParams,
        response: responses({ 200: VersionList }),
      },
    },
    async (req) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      return {
        items: listVersions(ctx.db, pipeline.id).map((v) => versionView(v, pipeline.currentVersionId)),
      };
    },
  );

  const VersionParams = Type.Object({
    id: Type.String({ minLength: 1 }),
    version: Type.Integer({ minimum: 1 }),
  });

  app.get<{ Params: { id: string; version: number } }>(
    "/v1/pipelines/:id/versions/:version",
    {
      schema: {
        tags,
        summary: "One handler version with its source and compiled code",
        params: VersionParams,
        response: responses({ 200: HandlerVersionDetail }),
      },
    },
    async (req) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      const row = getVersion(ctx.db, pipeline.id, req.params.version);
      if (!row)
        throw new WeirError("NOT_FOUND", `pipeline ${pipeline.id} has no version ${req.params.version}`, {
          details: { path: "/params/version" },
        });
      return {
        ...versionView(row, pipeline.currentVersionId),
        source: row.source,
        code: row.code,
        source_map: row.sourceMap,
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { version: number } }>(
    "/v1/pipelines/:id/rollback",
    {
      schema: {
        tags,
        summary: "Point the pipeline at an earlier (or any stored) version",
        params: IdParams,
        body: Type.Object({ version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        response: responses({ 200: PipelineView }),
      },
    },
    async (req) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      const row = getVersion(ctx.db, pipeline.id, req.body.version);
      if (!row) {
        throw new WeirError("NOT_FOUND", `pipeline ${pipeline.id} has no version ${req.body.version}`, {
          details: { issues: [{ path: "/body/version", message: "no such version" }] },
        });
      }
      if (pipeline.currentVersionId === row.id) return toView(ctx, pipeline);
      const updated = updatePipeline(ctx.db, pipeline.id, { currentVersionId: row.id });
      if (!updated) throw new WeirError("NOT_FOUND", `pipeline ${pipeline.id} not found`);
      req.log.info({ pipeline: pipeline.id, version: row.version }, "handler rolled back");
      return toView(ctx, updated);
    },
  );

  app.get(
    "/v1/types/handler.d.ts",
    {
      schema: {
        tags,
        summary: "Type definitions for handler authors (Log, Handler, OTLP JSON)",
        produces: ["application/typescript"],
        response: responses({ 200: Type.String() }),
      },
    },
    async (_req, reply) => reply.type("application/typescript; charset=utf-8").send(handlerTypes()),
  );
}
