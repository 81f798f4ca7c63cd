/**
 * The per-invocation context every command gets: output streams, the SDK client, global flags and
 * the pipeline lookup by id or name. Built from the `io` passed to `run`, so tests drive the CLI
 * in-process with captured output and their own environment, cwd and abort signal.
 */
import type { PipelineView } from "@weir/core";
import { isWeirError } from "@weir/core";
import { WeirClient } from "@weir/sdk";
import { type CliEnv, resolveSettings, type Settings } from "./config.ts";
import { CliError, EXIT, type ExitCode } from "./errors.ts";
import { makeProgress, type Progress } from "./progress.ts";

/** Where the CLI reads and writes; every field defaults to the real process. */
export interface CliIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Whether stderr is a terminal (progress is shown on terminals only, unless --progress). */
  stderrIsTTY?: boolean;
  env?: CliEnv & Record<string, string | undefined>;
  cwd?: string;
  /** Aborting it stops `logs --follow` (exit 0) and `wait` (exit 130), as Ctrl-C does. */
  signal?: AbortSignal;
  /** Poll interval of `weir wait`, in ms (tests shorten it). */
  pollMs?: number;
}

/** Options every command accepts (declared on the root program). */
export interface GlobalFlags {
  api?: string;
  token?: string;
  json?: boolean;
  progress?: boolean;
}

export class Ctx {
  readonly settings: Settings;
  readonly client: WeirClient;
  readonly json: boolean;
  readonly cwd: string;
  readonly signal: AbortSignal | undefined;
  readonly pollMs: number;
  /** Set by a command that finished but failed (e.g. a test event threw). */
  exitCode: ExitCode = EXIT.OK;
  /** Local file named in compile diagnostics (`weir handler upload`). */
  diagnosticsFile: string | undefined;
  private readonly io: CliIo;
  private readonly showProgress: boolean;
  private readonly progressTty: boolean;

  constructor(io: CliIo, flags: GlobalFlags) {
    this.io = io;
    this.cwd = io.cwd ?? process.cwd();
    this.settings = resolveSettings(flags, io.env ?? { ...process.env }, this.cwd);
    this.client = new WeirClient({ baseUrl: this.settings.apiUrl, token: this.settings.token });
    this.json = flags.json === true;
    this.signal = io.signal;
    this.pollMs = io.pollMs ?? 1000;
    const tty = io.stderrIsTTY ?? (io.stderr ? false : process.stderr.isTTY === true);
    this.showProgress = flags.progress === true || tty;
    this.progressTty = tty;
  }

  /** One line (or block) on stdout. */
  out(text: string): void {
    (this.io.stdout ?? ((t: string) => process.stdout.write(t)))(`${text}\n`);
  }

  /** One line on stderr (notes, warnings, progress). */
  err(text: string): void {
    this.writeErr(`${text}\n`);
  }

  writeErr(text: string): void {
    (this.io.stderr ?? ((t: string) => process.stderr.write(t)))(text);
  }

  /** Machine-readable output: pretty JSON on stdout. */
  printJson(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  /** `--json` prints `value`; otherwise `human()` runs. */
  emit(value: unknown, human: () => void): void {
    if (this.json) this.printJson(value);
    else human();
  }

  progress(): Progress {
    return makeProgress((t) => this.writeErr(t), { tty: this.progressTty, enabled: this.showProgress });
  }

  /**
   * A pipeline by id, or else by its unique name. The id is tried first (one request); a name
   * costs a listing. Not found either way: exit 3.
   */
  async pipeline(ref: string): Promise<PipelineView> {
    try {
      return await this.client.getPipeline(ref);
    } catch (err) {
      if (!(isWeirError(err) && err.code === "NOT_FOUND")) throw err;
    }
    const all = await this.client.listAllPipelines();
    const match = all.find((p) => p.name === ref);
    if (!match) throw new CliError(EXIT.NOT_FOUND, "NOT_FOUND", `no pipeline with id or name "${ref}"`);
    return match;
  }
}
