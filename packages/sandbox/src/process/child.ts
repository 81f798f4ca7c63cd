/**
 * The child process of a process sandbox: hosts ordinary in-process sandboxes (one per isolate) and
 * serves the parent's calls over IPC. It holds no state worth saving: the parent SIGKILLs it on any
 * breach and starts a fresh one. Started by process/host.ts with `node --no-node-snapshot`.
 */
import { serializeError } from "@weir/core";
import { SandboxPool } from "../pool.ts";
import { createSandbox } from "../sandbox.ts";
import type { Sandbox } from "../types.ts";
import type { ChildSandboxOptions, ToChild, ToParent } from "./protocol.ts";

/** How often the child reports which message each call is on (the parent's deadline tolerates this lag). */
const PROGRESS_POLL_MS = 50;

interface Member {
  sandbox?: Sandbox;
  /** The call running on this isolate and the progress last reported for it. */
  call?: { id: number; index: number; startedAt: number };
}

const members: Member[] = [];
const waiting: Array<Extract<ToChild, { type: "run" }>> = [];
let pool: SandboxPool | undefined;
/** Polls progress only while a call runs, so an idle child costs no wake-ups. */
let poller: NodeJS.Timeout | undefined;

function send(message: ToParent): void {
  // A parent that went away cannot be told anything; the disconnect handler ends this process.
  if (process.connected) process.send?.(message);
}

// Orphaned (the parent died or dropped us): die at once. SIGKILL, not process.exit, because an
// isolate thread wedged by a V8 out-of-memory can make a graceful exit hang.
process.on("disconnect", () => process.kill(process.pid, "SIGKILL"));

async function init(opts: ChildSandboxOptions): Promise<void> {
  const n = Math.max(1, Math.floor(opts.isolates ?? 1));
  for (let i = 0; i < n; i++) members.push({});
  try {
    const loaded = await Promise.all(
      members.map((member) =>
        createSandbox({
          ...opts,
          isolates: 1,
          // Runs on this process's main thread; the isolate itself may be wedged for good, so the
          // only remedy is the parent's SIGKILL: ask for it, naming the call that was running.
          onCatastrophicError: (message) => {
            process.stderr.write(`@weir/sandbox: catastrophic isolate error: ${message}\n`);
            send({ type: "catastrophic", id: member.call?.id, message });
          },
        }).then((sandbox) => {
          member.sandbox = sandbox;
          return sandbox;
        }),
      ),
    );
    pool = new SandboxPool(loaded);
    send({ type: "ready" });
  } catch (err) {
    send({ type: "load_failed", error: serializeError(err) });
  }
}

function dispatch(): void {
  for (;;) {
    const member = members.find((m) => m.sandbox && !m.call);
    const next = member && waiting.shift();
    if (!member || !next) return;
    void run(member, next);
  }
}

async function run(member: Member, call: Extract<ToChild, { type: "run" }>): Promise<void> {
  const sandbox = member.sandbox!;
  member.call = { id: call.id, index: 0, startedAt: Date.now() };
  poller ??= setInterval(reportProgress, PROGRESS_POLL_MS);
  try {
    const results = await sandbox.runBatch(call.messages);
    member.call = undefined;
    // The records travel on the results; only the dropped count is news to the parent.
    const { dropped } = sandbox.drainLogs();
    send({ type: "result", id: call.id, results, dropped, stats: pool!.stats() });
  } catch (err) {
    member.call = undefined;
    send({ type: "failed", id: call.id, error: serializeError(err) });
  }
  dispatch();
}

function reportProgress(): void {
  if (members.every((m) => !m.call)) {
    clearInterval(poller);
    poller = undefined;
    return;
  }
  for (const member of members) {
    const call = member.call;
    const now = member.sandbox?.inflight()[0];
    if (!call || !now || (now.index === call.index && now.startedAt === call.startedAt)) continue;
    call.index = now.index;
    call.startedAt = now.startedAt;
    send({ type: "progress", id: call.id, index: now.index, startedAt: now.startedAt });
  }
}

process.on("message", (message: ToChild) => {
  if (message.type === "init") void init(message.opts);
  else if (message.type === "run") {
    waiting.push(message);
    dispatch();
  }
});
