/**
 * `weir projects`, `weir tokens`, `weir audit` and `--project` / WEIR_PROJECT against a real API
 * (a process on its own SQLite file; no Kafka or ClickHouse: nothing is consumed).
 */
import { type ApiProcess, startApi } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Cli, cliFor, specFor } from "./test-helpers.ts";

let api: ApiProcess;
/** The server admin (WEIR_TOKEN). */
let admin: Cli;

beforeAll(async () => {
  api = await startApi();
  admin = cliFor(api);
});
afterAll(async () => {
  await api?.kill();
});

/** Run, expect exit 0 and no stderr, return the parsed --json output. */
async function json<T = Record<string, unknown>>(cli: Cli, args: string[], env?: Record<string, string>) {
  const res = await cli([...args, "--json"], env ? { env: { WEIR_API_URL: api.url, ...env } } : {});
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as T;
}

/** `weir audit --json` items as the API sends them. */
interface Entry {
  project: string | null;
  token_id: string | null;
  token_name: string | null;
  action: string;
  target: string | null;
  pipeline_id: string | null;
  revision_before: number | null;
  revision_after: number | null;
}

const A = "team-a";
const B = "team-b";

describe("weir projects", () => {
  it("the server admin creates, lists and deletes projects; bad names are usage errors", async () => {
    for (const name of [A, B]) {
      const res = await admin(["projects", "create", name]);
      expect(res.stderr).toBe("");
      expect(res.stdout).toMatch(new RegExp(`^created project ${name} \\(prj_[0-9a-f]+\\)\\n$`));
    }
    const list = await admin(["projects", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+CREATED$/);
    for (const name of ["default", A, B])
      expect(list.stdout).toMatch(new RegExp(`^prj_\\w+\\s+${name}\\s+20`, "m"));
    const names = (await json<{ name: string }[]>(admin, ["projects", "ls"])).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["default", A, B]));

    const again = await admin(["projects", "create", A]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: CONFLICT: a project named "team-a" already exists/);

    const bad = await admin(["projects", "create", "Team_A"]);
    expect(bad).toMatchObject({ code: 2, stdout: "" });
    expect(bad.stderr).toContain(
      '<name>: expected lower-case letters, digits and "-" (at most 64), got "Team_A"',
    );

    expect((await admin(["projects", "create", "scratch"])).code).toBe(0);
    expect(await admin(["projects", "delete", "scratch"])).toMatchObject({
      code: 0,
      stdout: "deleted project scratch\n",
    });
    expect((await admin(["projects", "delete", "scratch"])).code).toBe(3);
    const dflt = await admin(["projects", "rm", "default"]);
    expect(dflt.code).toBe(1);
    expect(dflt.stderr).toContain("error: CONFLICT: the default project cannot be deleted");
  });
});

describe("--project and WEIR_PROJECT", () => {
  let idA: string;
  let idB: string;

  beforeAll(async () => {
    // The same name in two projects: one created through --project, one through WEIR_PROJECT.
    const fa = admin.file("shared-a.yaml", stringify(specFor("shared", { env: { OWNER: "a" } })));
    const fb = admin.file("shared-b.yaml", stringify(specFor("shared", { env: { OWNER: "b" } })));
    const a = await json<{ action: string; pipeline: { id: string; project: string } }>(admin, [
      "--project",
      A,
      "pipelines",
      "apply",
      "-f",
      fa,
    ]);
    expect(a.action).toBe("created");
    expect(a.pipeline.project).toBe(A);
    const b = await json<{ id: string; project: string }>(admin, ["pipelines", "create", "-f", fb], {
      WEIR_TOKEN: api.adminToken,
      WEIR_PROJECT: B,
    });
    expect(b.project).toBe(B);
    idA = a.pipeline.id;
    idB = b.id;
    expect(idA).not.toBe(idB);
  });

  it("list filters by project and shows a PROJECT column", async () => {
    const all = await admin(["pipelines", "list"]);
    expect(all.code).toBe(0);
    expect(all.stdout.split("\n")[0]).toMatch(/^ID\s+PROJECT\s+NAME\s+STATE\s+HANDLER\s+REVISION\s+UPDATED$/);
    expect(all.stdout).toMatch(new RegExp(`^${idA}\\s+${A}\\s+shared\\s`, "m"));
    expect(all.stdout).toMatch(new RegExp(`^${idB}\\s+${B}\\s+shared\\s`, "m"));

    const onlyA = await admin(["pipelines", "list", "--project", A]);
    expect(onlyA.stdout).toContain(idA);
    expect(onlyA.stdout).not.toContain(idB);
    const onlyB = await json<{ id: string; project: string }[]>(admin, ["pipelines", "list"], {
      WEIR_TOKEN: api.adminToken,
      WEIR_PROJECT: B,
    });
    expect(onlyB.map((p) => [p.id, p.project])).toEqual([[idB, B]]);
  });

  it("resolves a bare name in the chosen project; the flag wins over the environment", async () => {
    const viaFlag = await json<{ id: string }>(admin, ["--project", A, "pipelines", "get", "shared"]);
    expect(viaFlag.id).toBe(idA);
    const viaEnv = await json<{ id: string; spec: { env: Record<string, string> } }>(
      admin,
      ["pipelines", "get", "shared"],
      { WEIR_TOKEN: api.adminToken, WEIR_PROJECT: B },
    );
    expect(viaEnv.id).toBe(idB);
    expect(viaEnv.spec.env).toEqual({ OWNER: "b" });
    const both = await json<{ id: string }>(admin, ["pipelines", "get", "shared", "--project", A], {
      WEIR_TOKEN: api.adminToken,
      WEIR_PROJECT: B,
    });
    expect(both.id).toBe(idA);

    // project/name and ids are used as given, whatever the project setting
    expect((await json<{ id: string }>(admin, ["--project", A, "pipelines", "get", `${B}/shared`])).id).toBe(
      idB,
    );
    expect((await json<{ id: string }>(admin, ["--project", A, "pipelines", "get", idB])).id).toBe(idB);
    // the status command (and every command taking a pipeline) resolves the same way
    const status = await admin(["--project", B, "pipelines", "status", "shared"]);
    expect(status.stdout).toContain(`pipeline   shared (${idB})`);
  });

  it("without a project, a name held by two projects is ambiguous (exit 2); a missing one exit 3", async () => {
    const amb = await admin(["pipelines", "get", "shared"]);
    expect(amb).toMatchObject({ code: 2, stdout: "" });
    expect(amb.stderr).toBe(
      `error: USAGE: pipeline name "shared" is in several projects (${A}/shared, ${B}/shared): pass --project, or <project>/shared\n`,
    );
    const missing = await admin(["--project", A, "pipelines", "get", "nope"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe(
      `error: NOT_FOUND: no pipeline with id "nope" or name "nope" in project "${A}"\n`,
    );
    const noProject = await admin(["--project", "no-such-project", "pipelines", "list"]);
    expect(noProject.code).toBe(3);
    expect(noProject.stderr).toContain("project no-such-project not found");
  });

  it("apply updates the pipeline of the chosen project only", async () => {
    const f = admin.file("shared-a2.yaml", stringify(specFor("shared", { env: { OWNER: "a2" } })));
    const before = await json<{ revision: number }>(admin, ["pipelines", "get", idB]);
    const res = await json<{ action: string; pipeline: { id: string; spec: { env: unknown } } }>(admin, [
      "pipelines",
      "apply",
      "-f",
      f,
      "--project",
      A,
    ]);
    expect(res.action).toBe("updated");
    expect(res.pipeline.id).toBe(idA);
    expect(res.pipeline.spec.env).toEqual({ OWNER: "a2" });
    const after = await json<{ revision: number; spec: { env: unknown } }>(admin, ["pipelines", "get", idB]);
    expect(after.revision).toBe(before.revision);
    expect(after.spec.env).toEqual({ OWNER: "b" });
  });

  it("a malformed project name is a usage error naming where it came from", async () => {
    const flag = await admin(["--project", "Team A", "pipelines", "list"]);
    expect(flag).toMatchObject({ code: 2, stdout: "" });
    expect(flag.stderr).toBe(
      'error: USAGE: --project: expected a project name (lower-case letters, digits and "-"), got "Team A"\n',
    );
    const env = await admin(["pipelines", "list"], {
      env: { WEIR_API_URL: api.url, WEIR_TOKEN: api.adminToken, WEIR_PROJECT: "x/y" },
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain(
      'WEIR_PROJECT: expected a project name (lower-case letters, digits and "-"), got "x/y"',
    );
  });

  describe("a project admin of team-a, through --token", () => {
    let secretA: string;
    let adminAId: string;
    /** The CLI's environment holds the server admin's WEIR_TOKEN; --token wins. */
    const asA = (args: string[]) => admin([...args, "--token", secretA]);

    beforeAll(async () => {
      const t = await json<{ id: string; token: string; kind: string; project: string; role: string }>(
        admin,
        ["tokens", "create", "--name", "a-admin", "--kind", "project", "--role", "admin", "--project", A],
      );
      expect(t).toMatchObject({ kind: "project", project: A, role: "admin" });
      expect(t.token.length).toBeGreaterThan(20);
      adminAId = t.id;
      secretA = t.token;
      // a token of the other project, which team-a's admin must never see
      await json(admin, ["tokens", "create", "--name", "b-editor", "--kind", "project", "--role", "editor"], {
        WEIR_TOKEN: api.adminToken,
        WEIR_PROJECT: B,
      });
    });

    it("creates a viewer token (secret shown once), lists only its project's tokens, revokes it; the audit shows both", async () => {
      const created = await asA([
        "tokens",
        "create",
        "--name",
        "a-viewer",
        "--kind",
        "project",
        "--role",
        "viewer",
      ]);
      expect(created.code).toBe(0);
      const [summary, secretLine] = created.stdout.trimEnd().split("\n");
      expect(summary).toMatch(
        /^created tok_[0-9a-f]+ {2}a-viewer {2}project in team-a {2}viewer {2}expires never$/,
      );
      expect(secretLine).toMatch(/^token: \S{20,}$/);
      expect(created.stderr).toBe(
        "this is the only time the token is shown: it will not be shown again, so store it now\n",
      );
      const viewerId = /tok_[0-9a-f]+/.exec(summary ?? "")?.[0] as string;
      const viewerSecret = (secretLine ?? "").slice("token: ".length);

      // the viewer reads, and is refused a delete with exit 4 and a message naming the role it lacks
      const viewer = cliFor({ url: api.url, adminToken: viewerSecret });
      expect((await viewer(["pipelines", "list"])).stdout).toMatch(
        new RegExp(`^${idA}\\s+${A}\\s+shared`, "m"),
      );
      const del = await viewer(["pipelines", "delete", "shared"]);
      expect(del).toMatchObject({ code: 4, stdout: "" });
      expect(del.stderr).toBe(
        "error: FORBIDDEN: a viewer of this project cannot pipelines:write (needs the editor role)\n" +
          "  the token (from WEIR_TOKEN) was accepted but may not do this: use a token with the role or action named above\n",
      );
      expect((await admin(["pipelines", "get", idA])).code).toBe(0);
      // a bare name is in the viewer's own project; another project's pipeline does not exist for it
      expect((await json<{ id: string }>(viewer, ["pipelines", "get", "shared"])).id).toBe(idA);
      expect((await viewer(["pipelines", "get", idB])).code).toBe(3);

      const list = await json<{ id: string; name: string; project: string | null }[]>(admin, [
        "tokens",
        "list",
        "--token",
        secretA,
      ]);
      expect(list.map((t) => t.name).sort()).toEqual(["a-admin", "a-viewer"]);
      expect(list.every((t) => t.project === A)).toBe(true);
      const table = await asA(["tokens", "ls"]);
      expect(table.stdout.split("\n")[0]).toMatch(
        /^ID\s+NAME\s+KIND\s+PROJECT\s+ACCESS\s+EXPIRES\s+LAST_USED$/,
      );
      expect(table.stdout).toMatch(
        new RegExp(`^${viewerId}\\s+a-viewer\\s+project\\s+team-a\\s+viewer\\s+never\\s+20`, "m"),
      );
      expect(table.stdout).not.toContain(viewerSecret);
      expect(table.stdout).not.toContain("b-editor");
      const otherProject = await asA(["tokens", "list", "--project", B]);
      expect(otherProject.code).toBe(3);
      expect(otherProject.stderr).toContain(`project ${B} not found`);

      const revoked = await asA(["tokens", "revoke", viewerId]);
      expect(revoked).toMatchObject({ code: 0, stdout: `revoked ${viewerId}\n` });
      const refused = await viewer(["pipelines", "list"]);
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(/^error: UNAUTHORIZED: /);
      expect(refused.stderr).toContain("token from WEIR_TOKEN was refused");
      expect((await asA(["tokens", "revoke", viewerId])).code).toBe(3);

      const audit = await asA(["audit"]);
      expect(audit.code).toBe(0);
      expect(audit.stdout.split("\n")[0]).toMatch(/^TIME\s+PROJECT\s+WHO\s+ACTION\s+TARGET\s+REV$/);
      for (const verb of ["create", "revoke"])
        expect(audit.stdout).toMatch(
          new RegExp(`^20\\S+Z\\s+team-a\\s+a-admin\\s+token\\.${verb}\\s+${viewerId}\\s+-$`, "m"),
        );
      const entries = (await json<{ items: Entry[] }>(admin, ["audit", "--token", secretA])).items;
      expect(entries.every((e) => e.project === A)).toBe(true);
      const mine = entries
        .filter((e) => e.target === viewerId)
        .map((e) => [e.action, e.token_id, e.token_name]);
      expect(mine).toEqual([
        ["token.create", adminAId, "a-admin"],
        ["token.revoke", adminAId, "a-admin"],
      ]);
      expect((await asA(["audit", "--project", B])).code).toBe(3);
    });

    it("creates a pipeline token on a pipeline by bare name in its project, with actions and an expiry", async () => {
      const t = await json<{
        kind: string;
        project: string;
        pipeline_id: string;
        actions: string[];
        expires_at: number;
      }>(admin, [
        "tokens",
        "create",
        "--token",
        secretA,
        "--name",
        "grafana",
        "--kind",
        "pipeline",
        "--pipeline",
        "shared",
        "--action",
        "logs:read",
        "--action",
        "pipelines:read,dlq:read",
        "--expires-in",
        "30d",
      ]);
      expect(t).toMatchObject({ kind: "pipeline", project: A, pipeline_id: idA });
      expect([...t.actions].sort()).toEqual(["dlq:read", "logs:read", "pipelines:read"]);
      expect(Math.abs(t.expires_at - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);
      const row = (await asA(["tokens", "list"])).stdout.split("\n").find((l) => l.includes("grafana"));
      expect(row).toMatch(
        new RegExp(`grafana\\s+pipeline\\s+team-a\\s+${idA}: \\S*logs:read\\S*\\s+20\\S+Z\\s+-$`),
      );
      // another project's pipeline cannot be named, by name or by id
      expect(
        (
          await asA([
            "tokens",
            "create",
            "--name",
            "x",
            "--kind",
            "pipeline",
            "--pipeline",
            idB,
            "--action",
            "logs:read",
          ])
        ).code,
      ).toBe(3);
      // only the server admin makes worker tokens
      const worker = await asA(["tokens", "create", "--name", "w", "--kind", "worker", "--pool", "eu"]);
      expect(worker.code).toBe(4);
      expect(worker.stderr).toContain("error: FORBIDDEN: only the server admin can create worker tokens");
      const w = await json<{ kind: string; pool: string; project: string | null }>(admin, [
        "tokens",
        "create",
        "--name",
        "w",
        "--kind",
        "worker",
        "--pool",
        "eu",
      ]);
      expect(w).toMatchObject({ kind: "worker", pool: "eu", project: null });
    });

    it("reads the audit of one pipeline, also after its deletion by id, and pages with --limit/--after", async () => {
      const f = admin.file("gone.yaml", stringify(specFor("gone")));
      const p = await json<{ id: string; revision: number }>(admin, [
        "pipelines",
        "create",
        "-f",
        f,
        "--token",
        secretA,
      ]);
      const paused = await json<{ revision: number }>(admin, [
        "pipelines",
        "pause",
        "gone",
        "--token",
        secretA,
      ]);
      expect(paused.revision).toBeGreaterThan(p.revision);
      expect((await asA(["pipelines", "delete", "gone"])).code).toBe(0);
      const byId = await asA(["audit", "--pipeline", p.id]);
      expect(byId.code).toBe(0);
      const rows = byId.stdout.trimEnd().split("\n").slice(1);
      // REV is the pipeline's revision (a server-wide counter) before->after
      expect(rows.map((r) => r.split(/\s+/).slice(1, 6))).toEqual([
        [A, "a-admin", "pipeline.create", `${A}/gone`, `->${p.revision}`],
        [A, "a-admin", "pipeline.pause", `${A}/gone`, `${p.revision}->${paused.revision}`],
        [A, "a-admin", "pipeline.delete", `${A}/gone`, `${paused.revision}->`],
      ]);
      // a name that no longer exists is not found
      expect((await asA(["audit", "--pipeline", "gone"])).code).toBe(3);

      const first = await asA(["audit", "--pipeline", p.id, "--limit", "1"]);
      expect(first.stdout.split("\n")).toHaveLength(3); // header, one row, final newline
      const after = /--after (\d+)/.exec(first.stderr)?.[1];
      expect(first.stderr).toMatch(/^more entries: pass --after \d+\n$/);
      const next = await json<{ items: Entry[]; next_after: number | null }>(admin, [
        "audit",
        "--token",
        secretA,
        "--pipeline",
        p.id,
        "--after",
        after as string,
      ]);
      expect(next.items.map((e) => e.action)).toEqual(["pipeline.pause", "pipeline.delete"]);
      expect(next.next_after).toBeNull();
    });
  });
});

describe("weir tokens create: usage errors name the flag and send nothing", () => {
  const base = ["tokens", "create", "--name", "nope"];
  it.each([
    [
      ["--kind", "superuser"],
      "option '--kind <kind>' argument 'superuser' is invalid. Allowed choices are project, pipeline, worker, admin.",
    ],
    [
      ["--kind", "project", "--role", "owner"],
      "option '--role <role>' argument 'owner' is invalid. Allowed choices are viewer, editor, admin.",
    ],
    [
      ["--kind", "pipeline", "--pipeline", "shared", "--action", "logs:write"],
      "option '--action <action>' argument 'logs:write' is invalid. Allowed actions are",
    ],
    [
      ["--kind", "pipeline", "--pipeline", "shared", "--action", "logs:read,audit:read"],
      "option '--action <action>' argument 'logs:read,audit:read' is invalid.",
    ],
    [["--kind", "project"], "--role: required for a project token (viewer, editor, admin)"],
    [["--kind", "pipeline", "--action", "logs:read"], "--pipeline: required for a pipeline token"],
    [["--kind", "pipeline", "--pipeline", "shared"], "--action: required for a pipeline token"],
    [["--kind", "worker", "--role", "viewer"], "--role: not for a worker token (only --kind project)"],
    [
      ["--kind", "project", "--role", "viewer", "--pool", "eu"],
      "--pool: not for a project token (only --kind worker)",
    ],
    [
      ["--kind", "admin", "--project", "team-a"],
      "--project: not for an admin token (it is not bound to a project)",
    ],
    [
      ["--kind", "project", "--role", "viewer", "--expires-in", "30s"],
      '--expires-in: expected between 1m and 3650d, got "30s"',
    ],
    [
      ["--kind", "project", "--role", "viewer", "--expires-in", "soon"],
      '--expires-in: expected a duration like 500ms, 30s, 10m, 2h or 1d, got "soon"',
    ],
    [["--role", "viewer"], "required option '--kind <kind>' not specified"],
  ])("%j", async (extra, message) => {
    const before = (await json<unknown[]>(admin, ["tokens", "list"])).length;
    const res = await admin([...base, ...extra]);
    expect(res).toMatchObject({ code: 2, stdout: "" });
    expect(res.stderr).toContain(message);
    expect((await json<unknown[]>(admin, ["tokens", "list"])).length).toBe(before);
  });
});

describe("help", () => {
  it("the root help lists the new commands, --project and WEIR_PROJECT", async () => {
    const res = await admin(["--help"]);
    for (const c of ["projects", "tokens", "audit"])
      expect(res.stdout).toMatch(new RegExp(`^ {2}${c}\\b`, "m"));
    expect(res.stdout).toContain("--project <name>");
    expect(res.stdout).toMatch(/^ {2}WEIR_PROJECT {2}project for bare pipeline names/m);
  });

  it.each([
    [["projects", "list"], "list projects"],
    [["projects", "create"], "create a project (server admin)"],
    [["projects", "delete"], "delete an empty project"],
    [["tokens", "list"], "list tokens (never their secrets)"],
    [["tokens", "create"], "weir tokens create --name grafana --kind pipeline"],
    [["tokens", "revoke"], "revoke a token by id"],
    [["audit"], "weir audit --pipeline team-a/otel-traces --limit 20"],
  ])("weir %s --help", async (path, text) => {
    const res = await admin([...path, "--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^Usage: weir ${path.join(" ")}`));
    expect(res.stdout).toContain(text);
    expect(res.stdout).toContain("Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 auth");
  });
});
