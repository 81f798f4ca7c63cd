import { WeirClient } from "@weir/sdk";
import { type ApiProcess, startApi } from "@weir/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { type Cli, cliFor, specFor } from "./test-helpers.ts";

let api: ApiProcess;
let cli: Cli;

beforeAll(async () => {
  api = await startApi();
  cli = cliFor(api);
});
afterAll(async () => {
  await api?.kill();
});

describe("weir pipelines", () => {
  it("applies a YAML file (create), then a JSON file (update), and lists, gets and shows status", async () => {
    const spec = specFor("cli-apply", { env: { MODE: "one" } });
    const yamlFile = cli.file("p.yaml", stringify(spec));
    const created = await cli(["pipelines", "apply", "-f", yamlFile]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /^created pl_[0-9a-f]+ {2}cli-apply {2}revision 1 {2}handler - {2}stalled/, // no worker yet
    );
    const id = /pl_[0-9a-f]+/.exec(created.stdout)?.[0] as string;

    const jsonFile = cli.file("p.json", JSON.stringify({ ...spec, env: { MODE: "two" } }));
    const updated = await cli(["pipelines", "apply", "-f", jsonFile, "--json"]);
    expect(updated.code).toBe(0);
    const body = JSON.parse(updated.stdout);
    expect(body.action).toBe("updated");
    expect(body.pipeline.id).toBe(id);
    expect(body.pipeline.spec.env).toEqual({ MODE: "two" });
    expect(body.pipeline.revision).toBeGreaterThan(1);

    const list = await cli(["pipelines", "list"]);
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")[0]).toMatch(
      /^ID\s+PROJECT\s+NAME\s+STATE\s+HANDLER\s+REVISION\s+UPDATED$/,
    );
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+default\\s+cli-apply\\s+\\w+\\s+-\\s+\\d+`));
    const listJson = JSON.parse((await cli(["pipelines", "list", "--json"])).stdout);
    expect(listJson.map((p: { id: string }) => p.id)).toContain(id);

    // get by name prints the spec as YAML that names the pipeline
    const get = await cli(["pipelines", "get", "cli-apply"]);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain(`# ${id}  cli-apply`);
    expect(get.stdout).toMatch(/^name: cli-apply$/m);
    expect(get.stdout).toMatch(/^ {2}MODE: two$/m);

    const status = await cli(["pipelines", "status", id]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`pipeline   cli-apply (${id})`);
    expect(status.stdout).toMatch(/state\s+\w+ \(desired running\)/);
    expect(status.stdout).toMatch(
      /MESSAGES_IN\s+ROWS_OUT\s+DROPPED\s+FAILED\s+DLQ\s+RETRIES\n0\s+0\s+0\s+0\s+0\s+0/,
    );
    expect(status.stdout).toContain("workers: none reporting");
    expect(status.stdout).toContain(
      "placement  pool default, replicas auto (? partitions): no live worker in pool default",
    );
    const statusJson = JSON.parse((await cli(["pipelines", "status", "cli-apply", "--json"])).stdout);
    expect(statusJson.desired).toBe("running");
    expect(statusJson.counters.rows_out).toBe(0);
  });

  it("lists workers and shows where a pipeline is placed, with the history", async () => {
    expect((await cli(["workers"])).stdout).toContain("no workers have polled this API");
    const created = JSON.parse(
      (
        await cli([
          "pipelines",
          "create",
          "-f",
          cli.file("w.yaml", stringify(specFor("cli-placed"))),
          "--json",
        ])
      ).stdout,
    );
    // A worker polls with its id: it is live and the pipeline is placed on it.
    const worker = new WeirClient({ baseUrl: api.url, token: api.workerToken });
    await worker.desiredState(undefined, undefined, { workerId: "cli-w1" });
    const workers = await cli(["workers"]);
    expect(workers.stdout).toMatch(
      /WORKER\s+POOL\s+LIVE\s+PIPELINES\s+LAST_SEEN\s+STARTED\ncli-w1\s+default\s+yes\s+\d+/,
    );
    const status = await cli(["pipelines", "status", created.id]);
    expect(status.stdout).toMatch(
      /placement {2}pool default, replicas auto \(\? partitions\): cli-w1 \(since /,
    );
    expect(status.stdout).toMatch(/CHANGED_AT\s+WORKERS\s+REASON\n\S+\s+cli-w1\s+placed on cli-w1/);
  });

  it("creates, pauses, resumes and deletes by name; a second create of the name is a conflict", async () => {
    const file = cli.file("c.yaml", stringify(specFor("cli-lifecycle")));
    const created = await cli(["pipelines", "create", "-f", file, "--json"]);
    expect(created.code).toBe(0);
    const id = JSON.parse(created.stdout).id as string;

    const again = await cli(["pipelines", "create", "-f", file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: CONFLICT: a pipeline named "cli-lifecycle" already exists/m);
    expect(again.stderr).toContain("  /name: already taken");

    const paused = await cli(["pipelines", "pause", "cli-lifecycle"]);
    expect(paused).toMatchObject({ code: 0, stdout: `paused ${id} cli-lifecycle (desired paused)\n` });
    const resumed = await cli(["pipelines", "resume", id, "--json"]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).status.desired).toBe("running");

    const deleted = await cli(["pipelines", "delete", "cli-lifecycle"]);
    expect(deleted).toMatchObject({ code: 0, stdout: `deleted ${id} cli-lifecycle\n` });
    const gone = await cli(["pipelines", "get", id]);
    expect(gone.code).toBe(3);
    expect(gone.stderr).toMatch(/^error: NOT_FOUND: no pipeline with id or name/m);
  });

  it("updates by id from a file; an invalid spec exits 1 with the field issues", async () => {
    const file = cli.file("u.yaml", stringify(specFor("cli-update")));
    const id = JSON.parse((await cli(["pipelines", "create", "-f", file, "--json"])).stdout).id as string;
    const bad = cli.file(
      "bad.yaml",
      stringify({ ...specFor("cli-update"), sink: { type: "clickhouse", config: { url: "ftp://x" } } }),
    );
    const res = await cli(["pipelines", "update", id, "-f", bad]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: VALIDATION: /m);
    expect(res.stderr).toMatch(/^ {2}\/sink\/config\/table: /m);
    expect(res.stderr).toMatch(/^ {2}\/sink\/config\/url: /m);

    const ok = await cli(["pipelines", "update", "cli-update", "-f", file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^updated ${id} {2}cli-update {2}revision \\d+`));
  });

  it("rejects missing, unreadable and unparsable files with exit 2 before calling the API", async () => {
    const noFlag = await cli(["pipelines", "create"]);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain("required option '-f, --file <path>' not specified");

    const missing = await cli(["pipelines", "apply", "-f", "nope.yaml"]);
    expect(missing).toMatchObject({ code: 2, stderr: "error: USAGE: cannot read nope.yaml: no such file\n" });

    const broken = await cli(["pipelines", "apply", "-f", cli.file("broken.json", "{name: ")]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/^error: USAGE: cannot parse broken.json: /);

    const list = await cli(["pipelines", "apply", "-f", cli.file("list.yaml", "- a\n- b\n")]);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain("expected a pipeline spec object");
  });
});
