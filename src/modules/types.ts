/**
 * The module contract: a module declares its arguments, reads the state it needs and plans
 * the change; the engine (src/engine/apply.ts) applies the plan.
 */
import type { z } from 'zod';
import type { SourcePos } from '../input-error.js';
import type { ExecOptions, ExecResult } from '../transport/types.js';
import type { WriteRequest } from './remote-file.js';

export interface FileDiff {
  /** Label shown in the unified diff header (usually the remote path). */
  path: string;
  before: string;
  after: string;
}

export interface ModuleResult {
  changed: boolean;
  failed?: boolean;
  skipped?: boolean;
  /** A message for the user; `debug` may carry any value here. */
  msg?: unknown;
  diff?: FileDiff[];
  /** Module-specific data (rc, stdout, stat, content, ...), available to `register`. */
  [key: string]: unknown;
}

/** What a module's read may use: the host, and the controller's files and variables. */
export interface ReadContext {
  host: string;
  /** Run a script on the host with the task's become and environment applied. */
  exec(script: string, options?: Pick<ExecOptions, 'stdin' | 'inShell'>): Promise<ExecResult>;
  /** Variables visible to the task (for `template`, `debug var=`). */
  vars: Record<string, unknown>;
  /** Render a Handlebars template text with the task's variables; `origin` names it in errors. */
  render(text: string, origin: string): string;
  /** Resolve a local file for `src:` (role `files/` / `templates/`, then the playbook dir). */
  findLocalFile(kind: 'files' | 'templates', name: string): string;
  /** Where the task stands, for error messages. */
  taskPos?: SourcePos;
}

/** How the engine runs a task's module: whether to apply the plan, whether to show the diff. */
export interface ModuleContext extends ReadContext {
  check: boolean;
  diff: boolean;
}

/** One change the engine makes when it applies a plan, in the plan's order. */
export type Change =
  | {
      /** A script to run on the host. */
      run: string;
      stdin?: string | Buffer;
      /** The task's message when the script fails (default: its first line of stderr). */
      error?: (result: ExecResult) => string;
    }
  | {
      /** A file to write atomically (temp file beside it, attributes, optional backup, rename). */
      write: WriteRequest;
      /** The result key that names the backup made, if any. */
      backupKey?: string;
    };

/** What a module decided, from its arguments and the state it read alone. */
export interface Plan {
  changed: boolean;
  /** What the task reports besides `changed` and `diff` (msg, path, `failed`, ...). */
  result?: Record<string, unknown>;
  /** Before and after, shown with --diff. */
  diff?: FileDiff[];
  /** What applying the plan does; empty when there is nothing to do. */
  changes?: Change[];
}

interface ModuleBase<Args> {
  /** Short name; `<collection>.<name>` resolves to it, and for builtins `ansible.legacy.<name>` too. */
  name: string;
  /** Default `ansible.builtin`. */
  collection?: string;
  /** More short names (each gets the collection names too), or full names as they are. */
  aliases?: string[];
  /** Validates the (templated) arguments; types come from here (`moduleArgs` of args.ts). */
  schema: z.ZodType<Args>;
  /** Free-form modules (command, shell) take `command: "text"` as `{ _raw: "text" }`. */
  freeForm?: boolean;
  /** Runs on the controller only, never touching the host (debug, set_fact, assert, fail). */
  local?: boolean;
}

/**
 * A module whose change is known before it is made: it reads the state it needs (one
 * exec where it can), and plans from the arguments and that state alone. The engine
 * applies the plan, or only reports it.
 */
export interface PlannedModuleSpec<Args, State> extends ModuleBase<Args> {
  read?(args: Args, ctx: ReadContext): Promise<State>;
  /** A pure function; a RemoteError or ModeError it throws is the task's failure. */
  plan(args: Args, state: State): Plan;
  /**
   * The state as it would be had earlier tasks of the same run created what this one needs
   * (a directory, the file to edit, the service, the namespace), or undefined when nothing
   * is missing. When the engine plans a run without making it, a plan that fails on the
   * state read is made again on this one.
   */
  assume?(state: State, args: Args): State | undefined;
}

/**
 * A module whose effect is only known by running it (command, shell, wait_for). `ahead`
 * says what a run would do when the engine must tell without running it: 'changes', or
 * 'nothing' (it only waits), or a read that tells: the result of a run that does nothing,
 * or 'changes'.
 */
export interface ActingModuleSpec<Args> extends ModuleBase<Args> {
  act(args: Args, ctx: ReadContext): Promise<ModuleResult>;
  ahead: 'changes' | 'nothing' | ((args: Args, ctx: ReadContext) => Promise<ModuleResult | 'changes'>);
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds modules of every argument and state type
export type ModuleSpec<Args = any, State = any> = PlannedModuleSpec<Args, State> | ActingModuleSpec<Args>;

/** A module as the registry holds it: its declaration, and `run`, the engine running it. */
// biome-ignore lint/suspicious/noExplicitAny: as ModuleSpec
export type Module<Args = any, State = any> = ModuleSpec<Args, State> & Runnable<Args>;

export interface Runnable<Args> {
  run(args: Args, ctx: ModuleContext): Promise<ModuleResult>;
}
