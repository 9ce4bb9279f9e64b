/**
 * Runs plays: hosts in batches (`serial`), tasks in lockstep across the batch (Ansible's
 * linear strategy) with at most `forks` hosts at once, handlers at the end of each section.
 * A failed or unreachable host leaves the play; the others go on. Which hosts are still in,
 * and the recap counts, belong to host-state.ts.
 */
import pLimit from 'p-limit';
import { hostVariables, selectHosts, type Inventory } from '../inventory/index.js';
import type { BlockTask, ModuleTask, Play, Playbook, Task, Vars } from '../playbook/model.js';
import { loadVarsFile } from '../playbook/load.js';
import type { HostStats, Reporter } from '../report/types.js';
import { InputError } from '../input-error.js';
import { renderString } from '../template/index.js';
import { ConnectionPool, type ConnectionDefaults } from './connections.js';
import { factVariables, gatherFacts } from './facts.js';
import { exceedsMaxFail, HostRun, recap, stillActive, wholeBatchLost, withReprieve } from './host-state.js';
import { runTaskOnHost, type HostState, type PlayContext } from './task.js';
import { UnreachableError } from '../transport/types.js';
import { selectedByTags } from './tags.js';
import { lazyVars, unsafeVars } from './vars.js';
import { resolve } from 'node:path';

export interface RunOptions extends ConnectionDefaults {
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  extraVars: Vars;
  check: boolean;
  diff: boolean;
  forks: number;
  become?: boolean;
  becomeUser?: string;
  startAtTask?: string;
  forceHandlers?: boolean;
  verbosity: number;
}

export interface RunOutcome {
  stats: Record<string, HostStats>;
  /** Round trips per host (for benchmarks and -vvv). */
  roundTrips: Record<string, number>;
}

export async function runPlaybook(playbook: Playbook, inventory: Inventory, options: RunOptions, reporter: Reporter): Promise<RunOutcome> {
  const pool = new ConnectionPool(options);
  const hosts = new Map<string, HostState>();
  let roundTrips: Record<string, number> = {};
  const startAt = { found: options.startAtTask === undefined };
  try {
    for (const play of playbook.plays) {
      const ended = await runPlay(play, { inventory, options, reporter, pool, hosts, startAt, playbookDir: playbook.dir });
      if (ended) break;
    }
  } finally {
    reporter.recap(recap(hosts));
    roundTrips = await pool.roundTrips();
    await pool.closeAll().catch(() => undefined);
  }
  return { stats: recap(hosts), roundTrips };
}

interface RunState {
  inventory: Inventory;
  options: RunOptions;
  reporter: Reporter;
  pool: ConnectionPool;
  hosts: Map<string, HostState>;
  /** --start-at-task: whether the named task has been reached (across plays). */
  startAt: { found: boolean };
  playbookDir: string;
}

function hostState(state: RunState, name: string): HostState {
  let host = state.hosts.get(name);
  if (!host) {
    host = {
      name,
      inventoryVars: hostVariables(state.inventory, name, { playbookDir: state.playbookDir }),
      facts: {},
      hostVars: {},
      notified: new Set(),
      run: new HostRun(),
    };
    state.hosts.set(name, host);
  }
  return host;
}

function batches(hosts: string[], serial: Array<number | string> | undefined): string[][] {
  if (!serial || serial.length === 0) return [hosts];
  const result: string[][] = [];
  let index = 0;
  let step = 0;
  while (index < hosts.length) {
    const spec = serial[Math.min(step, serial.length - 1)]!;
    const size = typeof spec === 'string' && spec.endsWith('%') ? Math.max(1, Math.floor((hosts.length * parseFloat(spec)) / 100)) : Math.max(1, Number(spec));
    result.push(hosts.slice(index, index + size));
    index += size;
    step++;
  }
  return result;
}

/** Run one play; whether it ended the playbook (any_errors_fatal, max_fail_percentage, a whole batch lost). */
async function runPlay(play: Play, state: RunState): Promise<boolean> {
  const pattern = play.hosts.includes('{{') ? String(renderString(play.hosts, { ...play.vars, ...state.options.extraVars })) : play.hosts;
  const selected = selectHosts(state.inventory, pattern, state.options.limit);
  state.reporter.playStart(play.name, selected);
  if (selected.length === 0) {
    state.reporter.warning(`no hosts matched '${pattern}'${state.options.limit ? ` with limit '${state.options.limit}'` : ''}; skipping play`);
    return false;
  }
  const varsFiles: Vars = {};
  const playVarsForFiles = { ...play.vars, ...state.options.extraVars };
  for (const file of play.varsFiles) {
    const path = resolve(play.dir, String(renderString(file, playVarsForFiles)));
    Object.assign(varsFiles, loadVarsFile(path, play.pos));
  }
  const ctx: PlayContext = {
    play,
    playVars: { ...play.vars, ...varsFiles },
    roleDefaults: Object.assign({}, ...play.roles.map((role) => role.defaults)),
    roleVars: Object.assign({}, ...play.roles.map((role) => role.vars)),
    options: state.options,
    reporter: state.reporter,
    pool: state.pool,
    inventory: state.inventory,
    hosts: state.hosts,
    playHosts: selected,
    hostState: (name) => hostState(state, name),
    playbookDir: state.playbookDir,
    startAt: state.startAt,
    aborted: false,
  };

  for (const batch of batches(selected, play.serial)) {
    const batchHosts = stillActive(batch.map((name) => hostState(state, name)));
    ctx.playBatch = batch;
    if (play.gatherFacts) await gatherAll(batchHosts, ctx);
    for (const section of play.sections) {
      await runTasks(section, batchHosts, ctx);
      // As ansible-core: a stopped play runs no handlers, not even forced ones.
      if (ctx.aborted) return true;
      await flushHandlers(batchHosts, ctx);
    }
    if (
      wholeBatchLost(
        batchHosts.map((host) => host.run),
        batch.length,
      )
    )
      return true;
  }
  return false;
}

async function gatherAll(hosts: HostState[], ctx: PlayContext): Promise<void> {
  const limit = pLimit(ctx.options.forks);
  const active = stillActive(hosts);
  if (active.length === 0) return;
  const task = { name: 'Gathering Facts', pos: ctx.play.pos };
  ctx.reporter.taskStart(task);
  await Promise.all(
    active.map((host) =>
      limit(async () => {
        try {
          const vars = lazyVars({ ...host.inventoryVars, ...ctx.playVars, ...ctx.options.extraVars });
          const transport = await ctx.pool.get(host.name, vars);
          host.facts = unsafeVars(factVariables(await gatherFacts(transport)));
          host.run.recordResult('ok');
          ctx.reporter.result({ host: host.name, task, status: 'ok', result: { changed: false } });
        } catch (error) {
          markUnreachableOrFailed(host, error, task, ctx);
        }
      }),
    ),
  );
}

function markUnreachableOrFailed(host: HostState, error: unknown, task: { name: string }, ctx: PlayContext): void {
  const message = error instanceof InputError ? error.describe() : (error as Error).message;
  if (error instanceof UnreachableError) {
    host.run.markUnreachable();
    ctx.reporter.result({ host: host.name, task, status: 'unreachable', result: { changed: false, unreachable: true, msg: message } });
  } else {
    host.run.markFailed();
    ctx.reporter.result({ host: host.name, task, status: 'failed', result: { changed: false, failed: true, msg: message } });
  }
}

async function runTasks(tasks: Task[], hosts: HostState[], ctx: PlayContext): Promise<void> {
  for (const task of tasks) {
    if (ctx.aborted) return;
    const running = stillActive(hosts);
    if (running.length === 0) return;
    if (task.kind === 'block') await runBlock(task, running, ctx);
    else await runModuleTask(task, running, ctx, false);
  }
}

async function runBlock(block: BlockTask, hosts: HostState[], ctx: PlayContext): Promise<void> {
  await runTasks(block.block, hosts, ctx);
  if (block.rescue.length) {
    const rescued = hosts.filter((host) => host.run.rescue());
    if (rescued.length) {
      ctx.aborted = false;
      await runTasks(block.rescue, rescued, ctx);
    }
  }
  if (block.always.length) {
    const failed = hosts.filter((host) => host.run.failed);
    await withReprieve(failed, () => runTasks(block.always, hosts, ctx));
  }
}

/** Whether a task is selected by --tags/--skip-tags and --start-at-task (static, not shown when not). */
function selected(task: ModuleTask, ctx: PlayContext): boolean {
  if (!selectedByTags(task.tags, ctx.options.tags, ctx.options.skipTags)) return false;
  if (!ctx.startAt.found) {
    const wanted = ctx.options.startAtTask!;
    if (task.name !== wanted && `${task.role?.name} : ${task.name}` !== wanted) return false;
    ctx.startAt.found = true;
  }
  return true;
}

async function runModuleTask(task: ModuleTask, hosts: HostState[], ctx: PlayContext, handler: boolean): Promise<void> {
  if (!handler && !selected(task, ctx)) return;
  ctx.reporter.taskStart({ name: task.name, role: task.role?.name, module: task.module.name, pos: task.pos, handler });
  const targets = task.runOnce ? hosts.slice(0, 1) : hosts;
  const limit = pLimit(ctx.options.forks);
  await Promise.all(targets.map((host) => limit(() => runTaskOnHost(task, host, ctx, handler))));
  if (task.runOnce && task.register && targets[0]) {
    const registered = targets[0].hostVars[task.register];
    for (const host of hosts.slice(1)) host.hostVars[task.register] = registered;
  }
  if (ctx.play.anyErrorsFatal && targets.some((host) => host.run.failed)) ctx.aborted = true;
  if (ctx.play.maxFailPercentage !== undefined && ctx.playBatch) {
    if (
      exceedsMaxFail(
        ctx.playBatch.map((name) => ctx.hosts.get(name)?.run),
        ctx.play.maxFailPercentage,
      )
    )
      ctx.aborted = true;
  }
}

async function flushHandlers(hosts: HostState[], ctx: PlayContext): Promise<void> {
  const force = ctx.options.forceHandlers || ctx.play.forceHandlers;
  for (const handler of ctx.play.handlers) {
    const names = [handler.name, ...handler.listen];
    const notified = hosts.filter((host) => (host.run.active || (force && host.run.failed)) && names.some((name) => host.notified.has(name)));
    if (notified.length === 0) continue;
    await withReprieve(
      notified.filter((host) => host.run.failed),
      () => runModuleTask(handler, notified, ctx, true),
    );
  }
  for (const host of hosts) host.notified.clear();
}
