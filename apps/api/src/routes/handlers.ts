/**
 * Handler upload (raw body, multipart, or a bundle made on the user's machine), versions, rollback
 * and the served type definitions. Uploads are compiled by the sandbox's compiler (esbuild) so that
 * what is stored is exactly what workers load; a version is immutable once stored.
 *
 * A bundled upload is JSON with content type `application/vnd.weir.handler-bundle+json`:
 * `{bundle, source_map, manifest}` (core's HandlerBundleUpload). It is re-checked here: sizes
 * (WEIR_MAX_BUNDLE_BYTES), a source map v3, the manifest's entry among its files, no import left in
 * the bundle and no CommonJS module global (`require`, `__dirname`, `__filename`); then compiled
 * with the bundle's map composed in, so stacks name the original files and lines.
 */
import { createHash } from "node:crypto";
import { Type } from "@sinclair/typebox";
import {
  HANDLER_BUNDLE_CONTENT_TYPE,
  HandlerBundleUpload,
  type HandlerManifest,
  HandlerVersionDetail,
  HandlerVersionView,
  PipelineView,
  VersionList,
  WeirError,
} from "@weir/core";
import {
  getVersion,
  getVersionById,
  type HandlerVersionRow,
  insertVersion,
  listVersions,
  updatePipeline,
} from "@weir/db";
import { type CompileResult, compileHandler } from "@weir/sandbox";
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
/** A bundle's entry as the manifest names it: a relative path without `..` segments. */
const ENTRY_NAME = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[\w.@+-][\w.@+/-]{0,255}$/;

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
    manifest: row.manifestJson ? (JSON.parse(row.manifestJson) as HandlerManifest) : null,
  };
}

/** What is stored for an upload, before compiling. */
interface Upload {
  filename: string;
  source: string;
  size: number;
  sha256: string;
  bundle?: { sourceMap: string; manifest: HandlerManifest };
}

/** Re-check a bundled upload (the schema already checked the shapes). */
function readBundle(body: HandlerBundleUpload, maxBytes: number): Upload {
  const size = Buffer.byteLength(body.bundle, "utf8");
  if (size > maxBytes) {
    throw badFile(
      "/body/bundle",
      `the bundle is ${size} bytes; the limit is ${maxBytes} (WEIR_MAX_BUNDLE_BYTES). Bundle fewer or smaller packages.`,
    );
  }
  const mapSize = Buffer.byteLength(body.source_map, "utf8");
  if (mapSize > 4 * maxBytes) {
    throw badFile("/body/source_map", `the source map is ${mapSize} bytes; the limit is ${4 * maxBytes}`);
  }
  let map: { version?: unknown; sources?: unknown; mappings?: unknown };
  try {
    map = JSON.parse(body.source_map);
  } catch {
    throw badFile("/body/source_map", "not JSON; send the bundle's source map v3 as text");
  }
  if (map?.version !== 3 || !Array.isArray(map.sources) || typeof map.mappings !== "string") {
    throw badFile("/body/source_map", "not a source map v3 (version 3, sources, mappings)");
  }
  const { manifest } = body;
  if (!ENTRY_NAME.test(manifest.entry)) {
    throw badFile("/body/manifest/entry", `"${manifest.entry}" is not a relative path without ".." segments`);
  }
  if (!manifest.files.some((f) => f.path === manifest.entry)) {
    throw badFile("/body/manifest/entry", `"${manifest.entry}" is not among manifest.files`);
  }
  // The version's identity: the code and where its lines come from.
  const sha256 = createHash("sha256")
    .update(body.bundle, "utf8")
    .update("\0")
    .update(body.source_map, "utf8")
    .digest("hex");
  return {
    filename: manifest.entry,
    source: body.bundle,
    size,
    sha256,
    bundle: { sourceMap: body.source_map, manifest },
  };
}

/** A failed compile as the error the client gets: 400 with diagnostics, naming /body/bundle for a bundle. */
function compileError(compiled: Extract<CompileResult, { ok: false }>, upload: Upload): WeirError {
  const first = compiled.diagnostics[0];
  const diagnostics = compiled.diagnostics.map((d) => ({
    line: d.line,
    column: d.column,
    message: d.message,
  }));
  if (
    upload.bundle &&
    compiled.diagnostics.some((d) => d.code === "BUNDLE_IMPORT" || d.code === "BUNDLE_GLOBAL")
  ) {
    const issues = compiled.diagnostics.map((d) => ({
      path: "/body/bundle",
      message: d.line > 0 ? `line ${d.line}:${d.column}: ${d.message}` : d.message,
    }));
    return new WeirError("VALIDATION", `/body/bundle: ${issues[0]?.message}`, {
      details: { issues, diagnostics },
    });
  }
  const missing = compiled.diagnostics.some((d) => d.code === "MISSING_HANDLER_EXPORT");
  const file = upload.bundle ? "bundle" : upload.filename;
  const where = first && first.line > 0 ? `${file}:${first.line}:${first.column}: ` : "";
  return new WeirError(
    missing ? "MISSING_HANDLER_EXPORT" : "COMPILE_ERROR",
    `${where}${first?.message ?? "compile failed"}`,
    { details: { diagnostics } },
  );
}

export async function handlerRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const tags = ["handlers"];
  const max = ctx.env.WEIR_MAX_HANDLER_BYTES;
  const maxBundle = ctx.env.WEIR_MAX_BUNDLE_BYTES;
  const bundleBodyLimit = 5 * maxBundle + 1024 * 1024;

  // Scoped to this plugin's routes: a bundled upload is JSON of its own content type.
  app.addContentTypeParser(HANDLER_BUNDLE_CONTENT_TYPE, { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(badFile("/body", `not JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.put<{ Params: { id: string }; Querystring: { filename?: string } }>(
    "/v1/pipelines/:id/handler",
    {
      // The raw and multipart limits are checked on the upload itself (413); the route's limit is
      // the larger one of a bundled upload.
      bodyLimit: Math.max(max, bundleBodyLimit),
      schema: {
        tags,
        summary:
          "Upload a handler: TypeScript (raw body or multipart field `file`) or a bundle; stores a new version",
        description:
          `Raw body content types: text/plain, ${HANDLER_CONTENT_TYPES.join(", ")}. Max ${max} bytes (413 above). ` +
          `Bundled upload (what \`weir handler upload\` sends for a handler with imports): content type ${HANDLER_BUNDLE_CONTENT_TYPE}, ` +
          "JSON body {bundle, source_map, manifest}: bundle = one self-contained ES module exporting `handler`, no import left and no " +
          "`require`/`__dirname`/`__filename`; source_map = its source map v3 as text, sources named as in the manifest with their contents; " +
          `manifest = {entry, files: [{path, sha256, bytes}], packages: [{name, version}]}, entry among the files. Limits: bundle ${maxBundle} bytes ` +
          `(WEIR_MAX_BUNDLE_BYTES), source map ${4 * maxBundle}, each 400 naming the field above; body ${bundleBodyLimit} (413). ` +
          "The version's sha256 is over the bundle, a NUL byte and the source map; its filename is the manifest's entry. " +
          "Compile errors: 400 with details.diagnostics [{line, column, message}]; a bundle with an import left: 400 VALIDATION naming /body/bundle.",
        consumes: [
          "text/plain",
          ...HANDLER_CONTENT_TYPES,
          "multipart/form-data",
          HANDLER_BUNDLE_CONTENT_TYPE,
        ],
        params: IdParams,
        querystring: Type.Object({ filename: Type.Optional(Type.String({ maxLength: 128 })) }),
        // Validated for the bundle's content type only; raw and multipart bodies are read below.
        body: { content: { [HANDLER_BUNDLE_CONTENT_TYPE]: { schema: HandlerBundleUpload } } },
        response: responses({ 200: HandlerVersionView, 201: HandlerVersionView }),
      },
    },
    async (req, reply) => {
      const pipeline = mustGetPipeline(ctx, req.params.id);
      let upload: Upload;
      if (req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase() === HANDLER_BUNDLE_CONTENT_TYPE) {
        upload = readBundle(req.body as HandlerBundleUpload, maxBundle);
      } else {
        const { source, filename } = await readUpload(req, max);
        const size = Buffer.byteLength(source, "utf8");
        if (size > max)
          throw new WeirError("PAYLOAD_TOO_LARGE", `handler is ${size} bytes; the limit is ${max}`);
        const sha256 = createHash("sha256").update(source, "utf8").digest("hex");
        upload = { filename, source, size, sha256 };
      }
      const { filename, source, size, sha256 } = upload;
      // Same source as the current version: nothing to deploy, answer with that version.
      const current = pipeline.currentVersionId
        ? getVersionById(ctx.db, pipeline.currentVersionId)
        : undefined;
      if (current && current.sha256 === sha256 && current.filename === filename) {
        return reply.status(200).send(versionView(current, current.id));
      }
      const compiled = await compileHandler(source, {
        filename,
        ...(upload.bundle ? { bundle: { sourceMap: upload.bundle.sourceMap } } : {}),
      });
      if (!compiled.ok) throw compileError(compiled, upload);
      const row = insertVersion(ctx.db, pipeline.id, {
        filename,
        source,
        code: compiled.code,
        sourceMap: compiled.sourceMap ?? null,
        sha256,
        size,
        manifestJson: upload.bundle ? JSON.stringify(upload.bundle.manifest) : null,
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
