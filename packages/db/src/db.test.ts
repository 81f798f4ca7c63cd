import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createToken,
  currentRevision,
  DEFAULT_PROJECT_ID,
  findTokenBySecret,
  insertLogs,
  insertPipeline,
  insertVersion,
  listPipelines,
  logsAfter,
  openDb,
  queryLogs,
  updatePipeline,
} from "./index.ts";

const dir = mkdtempSync(join(tmpdir(), "weir-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("db", () => {
  it("migrates once, persists, bumps revisions, pages and prunes logs", () => {
    const path = join(dir, "weir.db");
    const db = openDb(path);
    expect(currentRevision(db)).toBe(0);
    const a = insertPipeline(db, { projectId: DEFAULT_PROJECT_ID, name: "a", specJson: "{}" });
    const b = insertPipeline(db, { projectId: DEFAULT_PROJECT_ID, name: "b", specJson: "{}" });
    expect(b.revision).toBe(2);
    expect(() => insertPipeline(db, { projectId: DEFAULT_PROJECT_ID, name: "a", specJson: "{}" })).toThrow(
      /UNIQUE/,
    );
    const v = insertVersion(db, a.id, {
      filename: "h.ts",
      source: "s",
      code: "c",
      sourceMap: null,
      sha256: "x",
      size: 1,
    });
    expect(v?.version).toBe(1);
    expect(updatePipeline(db, a.id, { desired: "paused" })?.revision).toBe(4);
    const page1 = listPipelines(db, { limit: 1 });
    const page2 = listPipelines(db, { limit: 1, after: page1[0] });
    expect([page1[0]?.name, page2[0]?.name]).toEqual(["a", "b"]);
    const { secret } = createToken(db, {
      name: "t",
      kind: "project",
      projectId: DEFAULT_PROJECT_ID,
      role: "viewer",
    });
    expect(findTokenBySecret(db, secret)?.role).toBe("viewer");
    const now = Date.now();
    const rows = Array.from({ length: 30 }, (_, i) => ({
      pipelineId: a.id,
      time: now - 30 + i,
      level: "info",
      levelRank: 20,
      message: `m${i}`,
      source: "handler",
    }));
    insertLogs(db, [...rows, { ...rows[0]!, pipelineId: "pl_gone" }], { maxLines: 10, maxAgeMs: 60_000 });
    const got = queryLogs(db, { pipelineId: a.id, limit: 100 });
    expect(got.map((r) => r.message)).toEqual(Array.from({ length: 10 }, (_, i) => `m${29 - i}`));
    db.close();
    const again = openDb(path);
    expect(currentRevision(again)).toBe(4);
    again.close();
  });

  it("prunes log lines by age at each insert, and reads lines after an id in insertion order", () => {
    const db = openDb(join(dir, "age.db"));
    const p = insertPipeline(db, { projectId: DEFAULT_PROJECT_ID, name: "aged", specJson: "{}" });
    const day = 24 * 3600 * 1000;
    const now = Date.UTC(2026, 10, 25);
    const line = (message: string, time: number, levelRank = 20) => ({
      pipelineId: p.id,
      time,
      level: levelRank >= 20 ? "info" : "debug",
      levelRank,
      message,
      source: "handler",
    });
    const retention = { maxLines: 1000, maxAgeMs: 7 * day };
    insertLogs(db, [line("old", now - 8 * day), line("recent", now - 6 * day)], retention, now - 6 * day);
    // Both were inside the window when written.
    expect(queryLogs(db, { pipelineId: p.id, limit: 10 }).map((r) => r.message)).toEqual(["recent", "old"]);
    // A day later the 8-day-old line is out; the 6-day-old one (now 7 days minus a ms) stays.
    const stored = insertLogs(db, [line("new", now), line("quiet", now - 1, 10)], retention, now + day - 1);
    expect(queryLogs(db, { pipelineId: p.id, limit: 10 }).map((r) => r.message)).toEqual([
      "new",
      "quiet",
      "recent",
    ]);
    const recentId = queryLogs(db, { pipelineId: p.id, limit: 10 }).find((r) => r.message === "recent")!.id;
    // After an id: insertion order (ids), not time order; the level filter applies.
    expect(logsAfter(db, { pipelineId: p.id, afterId: recentId, limit: 10 }).map((r) => r.message)).toEqual([
      "new",
      "quiet",
    ]);
    expect(
      logsAfter(db, { pipelineId: p.id, afterId: recentId, minRank: 20, limit: 10 }).map((r) => r.message),
    ).toEqual(["new"]);
    expect(logsAfter(db, { pipelineId: p.id, afterId: stored[1]!.id, limit: 10 })).toEqual([]);
    db.close();
  });
});
