/**
 * The per-invocation context every command gets: output streams, the SDK client, global flags and
 * the pipeline lookup by id, `project/name` or name (in `--project` / WEIR_PROJECT when set). Built
 * from the `io` passed to `run`, so tests drive the CLI in-process with captured output and their
 * own environment, cwd and abort signal.
 */
import type { PipelineView } from "@weir/core";
import { isWeirError, ProjectName } from "@weir/core";
import { WeirClient } from "@weir/sdk";
import { type CliEnv, resolveSettings, type Settings } from "./config.ts";
import { CliError, EXIT, type ExitCode, usageError } from "./errors.ts";
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
  project?: string;
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
   * The project of `--project` / WEIR_PROJECT (checked: a bad name is exit 2 naming where it came
   * from), or undefined: then the token's own project decides.
   */
  get project(): string | undefined {
    const { project, projectSource } = this.settings;
    if (project !== undefined && !isProjectName(project)) {
      const from = projectSource === "flag" ? "--project" : "WEIR_PROJECT";
      throw usageError(
        `${from}: expected a project name (lower-case letters, digits and "-"), got "${project}"`,
      );
    }
    return project;
  }

  /** `{project}` for the SDK's list and create calls when a project is set, else `{}`. */
  projectQuery(): { project?: string } {
    const project = this.project;
    return project === undefined ? {} : { project };
  }

  /**
   * A pipeline by id (`pl_...`), `project/name`, or name. With a project set, a bare name means
   * `<project>/<name>`. Without one the API looks a bare name up in the token's own project (the
   * server admin's is `default`), and then a listing finds it in any project the token sees (two
   * projects holding the name: exit 2, asking for --project). Not found: exit 3.
   */
  async pipeline(ref: string): Promise<PipelineView> {
    const project = this.project;
    const notFound = () =>
      new CliError(
        EXIT.NOT_FOUND,
        "NOT_FOUND",
        project === undefined || ref.includes("/")
          ? `no pipeline with id or name "${ref}"`
          : `no pipeline with id "${ref}" or name "${ref}" in project "${project}"`,
      );
    const tries =
      project === undefined || ref.includes("/")
        ? [ref]
        : PIPELINE_ID.test(ref)
          ? [ref, `${project}/${ref}`]
          : [`${project}/${ref}`];
    for (const t of tries) {
      const found = await this.getIfExists(t);
      if (found) return found;
    }
    if (project !== undefined || ref.includes("/")) throw notFound();
    const matches = (await this.client.listAllPipelines()).filter((p) => p.name === ref);
    if (matches.length > 1) {
      throw usageError(
        `pipeline name "${ref}" is in several projects (${matches.map((p) => `${p.project}/${p.name}`).join(", ")}): pass --project, or <project>/${ref}`,
      );
    }
    const match = matches[0];
    if (!match) throw notFound();
    return match;
  }

  private async getIfExists(ref: string): Promise<PipelineView | undefined> {
    try {
      return await this.client.getPipeline(ref);
    } catch (err) {
      if (isWeirError(err) && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }
}

/** Whether the API would accept `name` as a project name (ProjectName in @weir/core). */
export function isProjectName(name: string): boolean {
  return name.length <= (ProjectName.maxLength ?? 64) && new RegExp(ProjectName.pattern ?? "").test(name);
}

/** The shape of a pipeline id (`pl_` and 16 hex digits); names may look alike, so it is only a hint. */
const PIPELINE_ID = /^pl_[0-9a-f]+$/;
