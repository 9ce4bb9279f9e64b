/** `tsrun run`: load everything (failing early on bad input), run, report, pick the exit code. */
import { existsSync } from 'node:fs';
import { loadInventory, selectHosts, type Inventory } from '../inventory/index.js';
import { runPlaybook } from '../engine/executor.js';
import { selectedByTags } from '../engine/tags.js';
import { loadPlaybook } from '../playbook/load.js';
import type { Playbook, Task, Vars } from '../playbook/model.js';
import { consoleReporter } from '../report/console.js';
import { jsonLinesReporter } from '../report/json.js';
import { fanOut, type Reporter } from '../report/types.js';
import { InputError } from '../input-error.js';
import { loadYamlFile, parseYaml } from '../yaml.js';
import type { HostKeyChecking } from '../transport/known-hosts.js';

export interface CliOptions {
  inventory: string[];
  limit?: string;
  tags: string[];
  skipTags: string[];
  extraVars: string[];
  check: boolean;
  diff: boolean;
  forks: number;
  user?: string;
  privateKey?: string;
  become?: boolean;
  becomeUser?: string;
  knownHosts?: string;
  hostKeyChecking?: HostKeyChecking;
  timeout?: number;
  verbose: number;
  listHosts?: boolean;
  listTasks?: boolean;
  syntaxCheck?: boolean;
  startAtTask?: string;
  forceHandlers?: boolean;
  output: 'text' | 'json';
  logFile?: string;
  color: boolean;
}

/** `-e` values: `k=v k2=v2`, a JSON/YAML mapping, or `@file`. Later ones win. */
export function parseExtraVars(values: string[]): Vars {
  const vars: Vars = {};
  for (const value of values) {
    if (value.startsWith('@')) {
      const file = value.slice(1);
      if (!existsSync(file)) throw new InputError(`extra vars file not found: ${file}`);
      const data = loadYamlFile(file);
      if (data && typeof data === 'object' && !Array.isArray(data)) Object.assign(vars, data);
      else throw new InputError(`extra vars file ${file}: expected a mapping`);
    } else if (/^\s*[{[]/.test(value)) {
      let data: unknown;
      try {
        // As files are read (`{x: yes}` is a boolean, like Ansible), within the loader's limits.
        data = parseYaml(value, '-e', { uniqueKeys: false })[0];
      } catch (error) {
        throw new InputError(`-e ${value}: invalid JSON/YAML: ${(error as Error).message.split('\n')[0]}`);
      }
      if (!data || typeof data !== 'object' || Array.isArray(data)) throw new InputError(`-e ${value}: expected a mapping`);
      Object.assign(vars, data);
    } else {
      for (const match of value.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
        const raw = match[2]!;
        vars[match[1]!] = /^(["']).*\1$/s.test(raw) ? raw.slice(1, -1) : raw;
      }
      if (!/^\s*[A-Za-z_][A-Za-z0-9_]*=/.test(value)) throw new InputError(`-e ${value}: expected k=v, a JSON/YAML mapping, or @file`);
    }
  }
  return vars;
}

function load(playbookFile: string, options: CliOptions, rolesPath: string[]): { playbook: Playbook; inventory: Inventory; extraVars: Vars } {
  // Like ansible-playbook: /etc/ansible/hosts by default; a syntax check needs no inventory.
  const inventorySources = options.inventory.length ? options.inventory : options.syntaxCheck ? ['localhost,'] : ['/etc/ansible/hosts'];
  const inventory = loadInventory(inventorySources);
  const playbook = loadPlaybook(playbookFile, { rolesPath });
  return { playbook, inventory, extraVars: parseExtraVars(options.extraVars) };
}

export async function listCommand(playbookFile: string, options: CliOptions, rolesPath: string[] = []): Promise<number> {
  const { playbook, inventory } = load(playbookFile, options, rolesPath);
  const out = (text: string): boolean => process.stdout.write(`${text}\n`);
  if (options.syntaxCheck) {
    out(`playbook: ${playbook.file}`);
    return 0;
  }
  for (const play of playbook.plays) {
    out(`\nplay: ${play.name}`);
    if (options.listHosts) {
      const hosts = selectHosts(inventory, play.hosts, options.limit);
      out(`  pattern: ${play.hosts}\n  hosts (${hosts.length}):`);
      for (const host of hosts) out(`    ${host}`);
    }
    if (options.listTasks) {
      out('  tasks:');
      const visit = (task: Task): void => {
        if (task.kind === 'block') {
          for (const inner of [...task.block, ...task.rescue, ...task.always]) visit(inner);
          return;
        }
        if (!selectedByTags(task.tags, options.tags, options.skipTags)) return;
        const name = task.role ? `${task.role.name} : ${task.name}` : task.name;
        out(`    ${name}\tTAGS: [${task.tags.join(', ')}]`);
      };
      play.sections.flat().forEach(visit);
    }
  }
  return 0;
}

export async function runCommand(playbookFile: string, options: CliOptions, rolesPath: string[] = []): Promise<number> {
  const { playbook, inventory, extraVars } = load(playbookFile, options, rolesPath);
  const reporters: Reporter[] = [];
  const color = options.color && options.output === 'text' && process.stdout.isTTY === true && !process.env.NO_COLOR;
  if (options.output === 'json') reporters.push(jsonLinesReporter((text) => process.stdout.write(text)));
  else reporters.push(consoleReporter({ write: (text) => process.stdout.write(text), color, verbosity: options.verbose, diff: options.diff }));
  // winston is loaded only when a log file is asked for: it costs start-up time otherwise.
  const log = options.logFile ? (await import('../report/log.js')).logFileReporter(options.logFile) : undefined;
  if (log) reporters.push(log.reporter);

  const outcome = await runPlaybook(
    playbook,
    inventory,
    {
      limit: options.limit,
      tags: options.tags,
      skipTags: options.skipTags,
      extraVars,
      check: options.check,
      diff: options.diff,
      forks: options.forks,
      become: options.become,
      becomeUser: options.becomeUser,
      startAtTask: options.startAtTask,
      forceHandlers: options.forceHandlers,
      verbosity: options.verbose,
      user: options.user,
      privateKeyFile: options.privateKey,
      knownHostsFile: options.knownHosts,
      hostKeyChecking: options.hostKeyChecking,
      connectTimeoutMs: options.timeout ? options.timeout * 1000 : undefined,
    },
    fanOut(reporters),
  );
  await log?.close();
  if (options.verbose >= 3 && options.output === 'text') {
    process.stdout.write(`SSH round trips per host: ${JSON.stringify(outcome.roundTrips)}\n`);
  }
  const stats = Object.values(outcome.stats);
  if (stats.some((s) => s.unreachable > 0)) return 4;
  if (stats.some((s) => s.failed > 0)) return 2;
  return 0;
}
