/**
 * The web console (apps/console, built to static files by `pnpm --filter @weir/console build`)
 * served at `/ui`. The files are public: the console signs in with a token it keeps in session
 * storage and calls the REST API with it. Any path under `/ui/` that is not a file answers the
 * SPA's index.html; without a build, `/ui` answers 503 saying how to build it.
 */
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

/** apps/console/dist, next to this app in the repository. */
export const CONSOLE_DIST = resolve(fileURLToPath(import.meta.url), "../../../../console/dist");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** The console talks to this origin only; CodeMirror and uPlot set inline styles. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

export async function consoleRoutes(
  app: FastifyInstance,
  { dir = CONSOLE_DIST }: { dir?: string } = {},
): Promise<void> {
  const root = resolve(dir);
  const config = { auth: "none" as const };
  const schema = { hide: true };

  const send = async (reply: FastifyReply, file: string, immutable: boolean) => {
    const body = await readFile(file);
    return reply
      .header("content-type", TYPES[extname(file)] ?? "application/octet-stream")
      .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
      .header("x-content-type-options", "nosniff")
      .header("content-security-policy", CSP)
      .header("referrer-policy", "no-referrer")
      .send(body);
  };

  const index = async (reply: FastifyReply) => {
    const file = join(root, "index.html");
    const found = await stat(file).catch(() => null);
    if (!found?.isFile()) {
      return reply.status(503).send({
        error: {
          code: "UNAVAILABLE",
          message: `the console is not built (no ${file}): run \`pnpm --filter @weir/console build\``,
        },
      });
    }
    return send(reply, file, false);
  };

  app.get("/ui", { config, schema }, async (_req, reply) => index(reply));

  app.get<{ Params: { "*": string } }>("/ui/*", { config, schema }, async (req, reply) => {
    const rel = req.params["*"];
    if (rel !== "" && !rel.includes("\0")) {
      const file = resolve(root, rel);
      if (file.startsWith(root + sep)) {
        const found = await stat(file).catch(() => null);
        if (found?.isFile()) return send(reply, file, rel.startsWith("assets/"));
      }
      // A missing asset is a 404, not the SPA (a stale index.html asking for an old bundle).
      if (rel.startsWith("assets/")) {
        return reply.status(404).send({ error: { code: "NOT_FOUND", message: `no console file ${rel}` } });
      }
    }
    return index(reply);
  });
}
