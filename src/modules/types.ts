/** What every module gets and returns. A module reads state in one exec and changes it in at most one more. */
import type { z } from 'zod';
import type { SourcePos } from '../source.js';
import type { ExecOptions, ExecResult } from '../transport/types.js';

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

export interface ModuleContext {
  host: string;
  /** Run a script on the host with the task's become and environment applied. */
  exec(script: string, options?: Pick<ExecOptions, 'stdin' | 'inShell'>): Promise<ExecResult>;
  check: boolean;
  diff: boolean;
  /** Variables visible to the task (for `template`, `debug var=`). */
  vars: Record<string, unknown>;
  /** Render a Handlebars template text with the task's variables; `origin` names it in errors. */
  render(text: string, origin: string): string;
  /** Resolve a local file for `src:` (role `files/` / `templates/`, then the playbook dir). */
  findLocalFile(kind: 'files' | 'templates', name: string): string;
  /** Where the task stands, for error messages. */
  taskPos?: SourcePos;
}

export interface Module<Args = any> {
  /** Short name; `<collection>.<name>` resolves to it, and for builtins `ansible.legacy.<name>` too. */
  name: string;
  /** Default `ansible.builtin`. */
  collection?: string;
  /** More short names (each gets the collection names too), or full names as they are. */
  aliases?: string[];
  /** Validates the (templated) arguments; types come from here. */
  schema: z.ZodType<Args>;
  /** Free-form modules (command, shell) take `command: "text"` as `{ _raw: "text" }`. */
  freeForm?: boolean;
  /** Runs on the controller only, never touching the host (debug, set_fact, assert, fail). */
  local?: boolean;
  run(args: Args, ctx: ModuleContext): Promise<ModuleResult>;
}
