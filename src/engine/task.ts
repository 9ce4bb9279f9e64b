/**
 * One task on one host: conditions, loops, retries, changed_when/failed_when, register,
 * notify, and the result the reporters see.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Inventory } from '../inventory/index.js';
import type { ModuleContext, ModuleResult } from '../modules/types.js';
import type { Condition, ModuleTask, Play, Vars } from '../playbook/model.js';
import { NO_LOG_MESSAGE, redact, secretValues } from '../report/redact.js';
import type { Reporter, ResultStatus, TaskInfo } from '../report/types.js';
import { InputError } from '../input-error.js';
import { evaluateCondition, renderString, renderTemplate, renderValue } from '../template/index.js';
import type { Transport } from '../transport/types.js';
import { UnreachableError } from '../transport/types.js';
import type { ConnectionPool } from './connections.js';
import type { RunOptions } from './executor.js';
import { extendVars, isUnsafe, lazyVars, markUnsafe, materialize, readsUnsafe, unsafeBinding, unsafeVars } from './vars.js';
import { parseArguments } from '../modules/args.js';
import { runModule } from './apply.js';
import type { HostRun } from './host-state.js';

export interface HostState {
  name: string;
  inventoryVars: Vars;
  facts: Vars;
  /** Registered results and set_fact. */
  hostVars: Vars;
  notified: Set<string>;
  /** In the play or out of it, and the recap counts. */
  run: HostRun;
}

export interface PlayContext {
  play: Play;
  playVars: Vars;
  roleDefaults: Vars;
  roleVars: Vars;
  options: RunOptions;
  reporter: Reporter;
  pool: ConnectionPool;
  inventory: Inventory;
  hosts: Map<string, HostState>;
  playHosts: string[];
  playBatch?: string[];
  hostState(name: string): HostState;
  playbookDir: string;
  startAt: { found: boolean };
  /** any_errors_fatal or max_fail_percentage stopped the play. */
  aborted: boolean;
}

const OMIT = '__omit_place_holder__tsrun';

/** `hostvars[name]`: a host's inventory vars, facts and registered vars, read on demand. */
function hostvarsProxy(ctx: PlayContext): Vars {
  return new Proxy({} as Vars, {
    get(_target, key) {
      if (typeof key !== 'string') return undefined;
      if (!ctx.inventory.hosts.has(key)) return undefined;
      const host = ctx.hostState(key);
      return lazyVars({ ...host.inventoryVars, ...host.facts, ...host.hostVars, ...ctx.options.extraVars });
    },
    has: (_target, key) => typeof key === 'string' && ctx.inventory.hosts.has(key),
    ownKeys: () => [...ctx.inventory.hosts.keys()],
    getOwnPropertyDescriptor: (_target, key) =>
      typeof key === 'string' && ctx.inventory.hosts.has(key) ? { enumerable: true, configurable: true, value: undefined } : undefined,
  });
}

export function taskVars(task: ModuleTask, host: HostState, ctx: PlayContext): Vars {
  return lazyVars({
    ...ctx.roleDefaults,
    ...task.role?.defaults,
    ...host.inventoryVars,
    ...host.facts,
    ...ctx.playVars,
    ...ctx.roleVars,
    ...task.role?.vars,
    ...task.vars,
    ...host.hostVars,
    ...ctx.options.extraVars,
    inventory_hostname: host.name,
    inventory_hostname_short: host.name.split('.')[0],
    hostvars: hostvarsProxy(ctx),
    play_hosts: ctx.playBatch ?? ctx.playHosts,
    ansible_play_hosts: ctx.playHosts.filter((name) => ctx.hosts.get(name)?.run.active ?? true),
    ansible_play_hosts_all: ctx.playHosts,
    ansible_play_batch: ctx.playBatch ?? ctx.playHosts,
    // The run's --check, whatever a task's own check_mode says (as in Ansible).
    ansible_check_mode: ctx.options.check,
    ansible_diff_mode: task.diff ?? ctx.options.diff,
    playbook_dir: ctx.playbookDir,
    role_name: task.role?.name,
    role_path: task.role?.dir,
    omit: OMIT,
  });
}

function stripOmitted(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => item !== OMIT).map(stripOmitted);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== OMIT)
        .map(([k, v]) => [k, stripOmitted(v)]),
    );
  }
  return value;
}

function conditionsHold(conditions: Condition[], vars: Vars, task: ModuleTask): boolean {
  return conditions.every((condition) => evaluateCondition(condition, vars, task.pos));
}

function findLocalFile(task: ModuleTask, ctx: PlayContext, kind: 'files' | 'templates', name: string): string {
  const candidates = [
    ...(task.role ? [join(task.role.dir, kind, name), join(task.role.dir, name)] : []),
    join(ctx.play.dir, kind, name),
    resolve(ctx.play.dir, name),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new InputError(`${kind === 'files' ? 'file' : 'template'} '${name}' not found`, task.pos, `looked in: ${candidates.join(', ')}`);
  return found;
}

interface Outcome {
  result: ModuleResult;
  status: ResultStatus;
  ignored?: boolean;
}

/** Decide the final status of one module result after changed_when / failed_when. */
function classify(task: ModuleTask, result: ModuleResult, vars: Vars): ModuleResult {
  if (!task.changedWhen && !task.failedWhen) return result;
  const scope = resultScope(task, result, vars);
  const classified = { ...result };
  if (task.changedWhen) classified.changed = conditionsHold(task.changedWhen, scope, task);
  if (task.failedWhen) {
    classified.failed = task.failedWhen.some((condition) => evaluateCondition(condition, scope, task.pos));
    if (classified.failed && !classified.msg) classified.msg = `failed_when condition was true: ${task.failedWhen.join(' or ')}`;
  }
  return classified;
}

/** What changed_when, failed_when and until see: the task's variables and the result under its `register` name. */
function resultScope(task: ModuleTask, result: ModuleResult, vars: Vars): Vars {
  return task.register ? extendVars(vars, { [task.register]: markUnsafe(result) }) : vars;
}

async function transportFor(task: ModuleTask, host: HostState, vars: Vars, ctx: PlayContext): Promise<{ transport?: Transport; delegatedTo?: string }> {
  if (task.module.local) return {};
  if (task.delegateTo) {
    const target = String(renderString(task.delegateTo, vars, task.pos));
    const targetVars = ctx.inventory.hosts.has(target)
      ? lazyVars({ ...ctx.hostState(target).inventoryVars, ...ctx.options.extraVars })
      : { ansible_connection: target === 'localhost' || target === '127.0.0.1' ? 'local' : 'ssh', ansible_host: target };
    return { transport: await ctx.pool.get(target, targetVars), delegatedTo: target };
  }
  // Connection variables may come from any variable layer (play vars, -e), as in Ansible.
  return { transport: await ctx.pool.get(host.name, vars) };
}

/** Run the module once (with retries/until) for the given variables. */
async function execute(task: ModuleTask, host: HostState, vars: Vars, ctx: PlayContext): Promise<{ result: ModuleResult; delegatedTo?: string }> {
  const { value: renderedArgs, unsafe: argsUnsafe } = readsUnsafe(() => materialize(renderValue(task.args, vars, task.pos)));
  const rendered = stripOmitted(renderedArgs);
  const args = parseArguments(task.module, rendered, task.pos);
  const { transport, delegatedTo } = await transportFor(task, host, vars, ctx);
  const become = task.become ?? ctx.play.become ?? ctx.options.become ?? truthyVar(vars.ansible_become);
  const becomeUser = become ? (task.becomeUser ?? ctx.play.becomeUser ?? ctx.options.becomeUser ?? strVar(vars.ansible_become_user) ?? 'root') : undefined;
  const environment = Object.keys(task.environment).length
    ? Object.fromEntries(Object.entries(renderValue(task.environment, vars, task.pos) as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
    : undefined;
  const timeout = timeoutOf(task, vars);
  // The current attempt's deadline: a command still running then is ended on the host.
  let deadline: number | undefined;
  const moduleContext: ModuleContext = {
    host: host.name,
    exec: (script, options) => {
      if (!transport) throw new Error(`${task.module.name} runs on the controller and cannot run commands`);
      return transport.exec(script, { ...options, becomeUser, env: environment, deadline });
    },
    check: task.checkMode ?? ctx.options.check,
    diff: task.diff ?? ctx.options.diff,
    vars,
    render: (text, origin) => renderTemplate(text, vars, origin),
    findLocalFile: (kind, name) => findLocalFile(task, ctx, kind, name),
    taskPos: task.pos,
  };

  const retries = task.until ? Number(task.retries === undefined ? 3 : renderString(String(task.retries), vars)) : 0;
  const delay = Number(task.delay === undefined ? 5 : renderString(String(task.delay), vars));
  let result: ModuleResult = { changed: false };
  for (let attempt = 1; ; attempt++) {
    // As Ansible: the limit is per attempt, and running out of it ends the task at once.
    deadline = timeout ? Date.now() + timeout * 1000 : undefined;
    const run =
      deadline === undefined ? await runModule(task.module, args, moduleContext) : await within(runModule(task.module, args, moduleContext), deadline);
    if (!run) {
      result = {
        changed: false,
        failed: true,
        msg: `The ${task.action} action failed to execute in the expected time frame (${timeout}) and was terminated`,
      };
      break;
    }
    result = run.result;
    // A module check mode could not run (a command) has nothing for changed_when to judge:
    // it is reported as the change a real run reports, or skipped when changed_when would decide.
    if (!run.ran) {
      if (task.changedWhen) result = { changed: false, skipped: true, msg: result.msg };
      break;
    }
    result = classify(task, result, vars);
    if (!task.until) break;
    // As Ansible: the condition alone ends the retries; a failed result that meets it stays failed.
    if (conditionsHold(task.until, resultScope(task, result, vars), task)) {
      result = { ...result, attempts: attempt };
      break;
    }
    if (attempt > retries) {
      result = { ...result, failed: true, attempts: attempt, msg: result.msg ?? `retries exhausted (${attempt} attempts), until condition never held` };
      break;
    }
    await sleep(delay * 1000);
  }
  // Facts a host reported, or that a set_fact made from host data, stay data.
  if (result.ansible_facts && (argsUnsafe || !task.module.local)) markUnsafe(result.ansible_facts);
  return { result, delegatedTo };
}

/** The task's `timeout:` in seconds, templated; 0 (Ansible's default) is no limit. */
function timeoutOf(task: ModuleTask, vars: Vars): number {
  if (task.timeout === undefined) return 0;
  const text = typeof task.timeout === 'number' ? String(task.timeout) : String(renderString(task.timeout, vars, task.pos)).trim();
  if (!/^\d+$/.test(text)) throw new InputError(`timeout: expected a whole number of seconds, got ${JSON.stringify(text)}`, task.pos);
  return Number(text);
}

/**
 * The work's value, or undefined when the deadline comes first (the work then fails
 * unheard). A result that arrives after the deadline counts as late too: the host's own
 * `timeout` ends a command at the deadline, and its answer may be read before the timer.
 */
async function within<T>(work: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), undefined);
  });
  work.catch(() => undefined);
  try {
    const value = await Promise.race([work, expired]);
    return Date.now() >= deadline ? undefined : value;
  } finally {
    clearTimeout(timer);
  }
}

const truthyVar = (value: unknown): boolean | undefined =>
  value === undefined ? undefined : value === true || value === 'true' || value === 'True' || value === 'yes' || value === 1;
const strVar = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : String(value));

function statusOf(result: ModuleResult): ResultStatus {
  if (result.failed) return 'failed';
  if (result.skipped) return 'skipped';
  return result.changed ? 'changed' : 'ok';
}

function errorResult(error: unknown): ModuleResult {
  if (error instanceof UnreachableError) return { changed: false, unreachable: true, msg: error.message };
  const msg = error instanceof InputError ? error.describe() : error instanceof Error ? error.message : String(error);
  return { changed: false, failed: true, msg };
}

export async function runTaskOnHost(task: ModuleTask, host: HostState, ctx: PlayContext, handler: boolean): Promise<void> {
  const info: TaskInfo = { name: task.name, role: task.role?.name, module: task.module.name, pos: task.pos, handler };
  let vars: Vars = {};
  const report: Report = (status, result, extra = {}) => {
    const shown = task.noLog ? { changed: result.changed, failed: result.failed, skipped: result.skipped, censored: NO_LOG_MESSAGE } : result;
    const secrets = secretValues(vars);
    // A no_log loop item is hidden as Ansible hides it: `(item=None)`.
    const item = 'item' in extra ? { item: task.noLog ? null : redact(extra.item, secrets) } : {};
    ctx.reporter.result({ host: host.name, task: info, status, result: redact(shown, secrets), ...extra, ...item });
  };

  let outcome: Outcome;
  try {
    vars = taskVars(task, host, ctx);
    outcome = task.loop === undefined ? await runSingle(task, host, vars, ctx, report) : await runLoop(task, host, vars, ctx, report);
  } catch (error) {
    const result = errorResult(error);
    outcome = { result, status: result.unreachable ? 'unreachable' : 'failed' };
    report(outcome.status, outcome.result);
  }
  record(task, host, outcome, vars);
}

type Report = (status: ResultStatus, result: ModuleResult, extra?: { item?: unknown; delegatedTo?: string; ignored?: boolean }) => void;

async function runSingle(task: ModuleTask, host: HostState, vars: Vars, ctx: PlayContext, report: Report): Promise<Outcome> {
  if (task.when.length && !conditionsHold(task.when, vars, task)) {
    const result = { changed: false, skipped: true, skip_reason: 'Conditional result was False' };
    report('skipped', result);
    return { result, status: 'skipped' };
  }
  let executed: { result: ModuleResult; delegatedTo?: string };
  try {
    executed = await execute(task, host, vars, ctx);
  } catch (error) {
    const result = errorResult(error);
    const status: ResultStatus = result.unreachable ? 'unreachable' : 'failed';
    const ignored = status === 'failed' && ignoreErrors(task, vars);
    report(status, result, { ignored });
    return { result, status, ignored };
  }
  const status = statusOf(executed.result);
  const ignored = status === 'failed' && ignoreErrors(task, vars);
  report(status, executed.result, { delegatedTo: executed.delegatedTo, ignored });
  return { result: executed.result, status, ignored };
}

function ignoreErrors(task: ModuleTask, vars: Vars): boolean {
  if (task.ignoreErrors === undefined) return false;
  if (typeof task.ignoreErrors === 'boolean') return task.ignoreErrors;
  return evaluateCondition(task.ignoreErrors, vars, task.pos);
}

function itemLabel(task: ModuleTask, item: unknown, vars: Vars): unknown {
  if (task.loopLabel !== undefined) return renderString(task.loopLabel, vars, task.pos);
  return item;
}

async function runLoop(task: ModuleTask, host: HostState, vars: Vars, ctx: PlayContext, report: Report): Promise<Outcome> {
  const { value: items, unsafe: itemsUnsafe } = readsUnsafe(() =>
    typeof task.loop === 'string' ? renderString(task.loop, vars, task.pos) : renderValue(task.loop, vars, task.pos),
  );
  if (!Array.isArray(items)) {
    throw new InputError(
      `loop: expected a list, got ${items === null ? 'null' : typeof items}`,
      task.pos,
      'use a list, or a variable holding one (dict2items for a mapping)',
    );
  }
  const results: ModuleResult[] = [];
  let unreachable = false;
  for (const [index, item] of items.entries()) {
    const loopVars = extendVars(vars, {
      [task.loopVar]: itemsUnsafe ? unsafeBinding(item) : item,
      ...(task.indexVar ? { [task.indexVar]: index } : {}),
      ansible_loop_var: task.loopVar,
      ansible_loop: { index: index + 1, index0: index, first: index === 0, last: index === items.length - 1, length: items.length },
    });
    const label = itemLabel(task, item, loopVars);
    let itemResult: ModuleResult;
    let delegatedTo: string | undefined;
    if (task.when.length && !conditionsHold(task.when, loopVars, task)) {
      itemResult = { changed: false, skipped: true, skip_reason: 'Conditional result was False' };
    } else {
      try {
        const executed = await execute(task, host, loopVars, ctx);
        itemResult = executed.result;
        delegatedTo = executed.delegatedTo;
      } catch (error) {
        itemResult = errorResult(error);
      }
    }
    itemResult = { ...itemResult, [task.loopVar]: item, ansible_loop_var: task.loopVar };
    results.push(itemResult);
    const status: ResultStatus = itemResult.unreachable ? 'unreachable' : statusOf(itemResult);
    report(status, itemResult, { item: label, delegatedTo, ignored: status === 'failed' && ignoreErrors(task, loopVars) });
    if (itemResult.unreachable) {
      unreachable = true;
      break;
    }
  }
  const failed = results.some((r) => r.failed);
  const result: ModuleResult = {
    changed: results.some((r) => r.changed),
    failed,
    skipped: results.length === 0 || results.every((r) => r.skipped),
    results,
    msg: failed ? 'One or more items failed' : 'All items completed',
  };
  if (unreachable) return { result: { ...result, unreachable: true }, status: 'unreachable' };
  const status = statusOf(result);
  return { result, status, ignored: status === 'failed' && ignoreErrors(task, vars) };
}

/** Register the result, count it, and queue handlers. */
function record(task: ModuleTask, host: HostState, outcome: Outcome, vars: Vars): void {
  const { result, status, ignored } = outcome;
  if (task.register) host.hostVars[task.register] = markUnsafe(result);
  const facts = result.ansible_facts;
  if (facts && typeof facts === 'object' && status !== 'failed') Object.assign(host.hostVars, isUnsafe(facts) ? unsafeVars(facts as Vars) : facts);
  host.run.recordResult(status, { ignored, changed: result.changed === true });
  if (status === 'changed') {
    for (const name of task.notify) host.notified.add(name.includes('{{') ? String(renderString(name, vars, task.pos)) : name);
  }
}
