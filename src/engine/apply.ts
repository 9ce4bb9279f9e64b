/**
 * Running a module: read, plan, and apply the plan unless in check mode. Check mode,
 * diff, `changed` and the writes are decided here, never in a module.
 */
import { ModeError, RemoteError, failed, firstLine, writeFile } from '../modules/remote-file.js';
import type { ActingModuleSpec, Module, ModuleContext, Runnable, ModuleResult, ModuleSpec, Plan, PlannedModuleSpec } from '../modules/types.js';

export interface ModuleRun {
  result: ModuleResult;
  /**
   * False when check mode could not run the module and its result only says that a run
   * would change something (a command): the task's changed_when has nothing to judge.
   */
  ran: boolean;
}

const isActing = (module: ModuleSpec): module is ActingModuleSpec<unknown> => 'act' in module;

/** A module's declaration, runnable (`run` is what the engine and the module tests call). */
export function defineModule<Args, State>(spec: PlannedModuleSpec<Args, State>): PlannedModuleSpec<Args, State> & Runnable<Args>;
export function defineModule<Args>(spec: ActingModuleSpec<Args>): ActingModuleSpec<Args> & Runnable<Args>;
export function defineModule(spec: ModuleSpec): Module {
  const module: Module = { ...spec, run: async (args, ctx) => (await runModule(module, args, ctx)).result };
  return module;
}

export async function runModule(module: ModuleSpec, args: unknown, ctx: ModuleContext): Promise<ModuleRun> {
  try {
    if (isActing(module)) return await act(module, args, ctx);
    return { result: await planAndApply(module, args, ctx), ran: true };
  } catch (error) {
    if (error instanceof RemoteError || error instanceof ModeError) return { result: failed(error.message), ran: true };
    throw error;
  }
}

/**
 * A module that cannot be planned runs for real; in check mode it does not run, and is
 * reported as the change a successful run reports, unless what it declares tells better
 * (creates/removes: a command that would not run; wait_for: nothing to change).
 */
async function act(module: ActingModuleSpec<unknown>, args: unknown, ctx: ModuleContext): Promise<ModuleRun> {
  if (!ctx.check) return { result: await module.act(args, ctx), ran: true };
  const ahead = typeof module.ahead === 'function' ? await module.ahead(args, ctx) : module.ahead;
  if (ahead === 'nothing') return { result: { changed: false, msg: `${module.name} does not run in check mode` }, ran: true };
  if (ahead === 'changes') return { result: { changed: true, msg: `${module.name} would run (not run in check mode)` }, ran: false };
  return { result: ahead, ran: true };
}

function planSafely<Args, State>(module: PlannedModuleSpec<Args, State>, args: Args, state: State): Plan {
  try {
    return module.plan(args, state);
  } catch (error) {
    if (error instanceof RemoteError || error instanceof ModeError) return { changed: false, result: { failed: true, msg: error.message } };
    throw error;
  }
}

async function planAndApply<Args, State>(module: PlannedModuleSpec<Args, State>, args: Args, ctx: ModuleContext): Promise<ModuleResult> {
  const state = module.read ? await module.read(args, ctx) : (undefined as State);
  let plan = planSafely(module, args, state);
  if (ctx.check && plan.result?.failed && module.assume) {
    // What this task needs may be what an earlier task of the same run creates (a
    // directory, a file, a service, a namespace): check mode takes it as created.
    const assumed = module.assume(state, args);
    if (assumed !== undefined) plan = planSafely(module, args, assumed);
  }
  const result: ModuleResult = { changed: plan.changed, ...plan.result };
  if (ctx.diff && plan.diff?.length) result.diff = plan.diff;
  if (ctx.check || result.failed) return result;

  for (const change of plan.changes ?? []) {
    if ('write' in change) {
      const written = await writeFile(ctx, change.write);
      if (written.backupFile && change.backupKey) result[change.backupKey] = written.backupFile;
      continue;
    }
    const outcome = await ctx.exec(change.run, change.stdin !== undefined ? { stdin: change.stdin } : undefined);
    if (outcome.code !== 0) {
      const msg = change.error ? change.error(outcome) : firstLine(outcome.stderr) || `exit ${outcome.code}`;
      return { ...result, failed: true, msg };
    }
  }
  return result;
}
