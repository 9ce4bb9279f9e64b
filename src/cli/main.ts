/**
 * The command line: `tsrun run PLAYBOOK -i INVENTORY [flags]`, with ansible-playbook's flags.
 *
 * Exit codes (ansible-playbook's where it defines them):
 *   0 success · 1 invalid input (inventory, playbook, role, template; file:line:col printed)
 *   2 a host failed · 4 a host was unreachable · 5 bad options
 */
import { Command, CommanderError, Option } from 'commander';
import { packagePath } from '../package-root.js';
import { InputError } from '../input-error.js';
import { runCommand, listCommand, type CliOptions } from './run.js';

export const EXIT = { ok: 0, invalidInput: 1, hostFailed: 2, unreachable: 4, badOptions: 5 } as const;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function commaList(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean),
  ];
}

/** Flags shared by every command that runs a playbook. */
export function addRunFlags(command: Command): Command {
  return command
    .option('-i, --inventory <path>', 'inventory file, directory or comma list (repeatable)', collect, [])
    .option('-l, --limit <pattern>', 'further limit the hosts with a pattern')
    .option('-t, --tags <tags>', 'only run tasks with these tags', commaList, [])
    .option('--skip-tags <tags>', 'skip tasks with these tags', commaList, [])
    .option('-e, --extra-vars <vars>', 'extra variables: k=v, JSON/YAML, or @file (repeatable)', collect, [])
    .option('-C, --check', 'report what would change, change nothing', false)
    .option('-D, --diff', 'show the differences in changed files and objects', false)
    .option('-f, --forks <n>', 'hosts worked on at once', (value) => parsePositive(value, '--forks'), 20)
    .option('-u, --user <name>', 'connect as this user')
    .option('--private-key <file>', 'SSH private key file')
    .option('-b, --become', 'run tasks with sudo (become)')
    .option('--become-user <name>', 'become this user (default root)')
    .option('--known-hosts <file>', 'OpenSSH known_hosts file to check host keys against')
    .addOption(new Option('--host-key-checking <mode>', 'host key checking').choices(['strict', 'accept-new', 'off']))
    .option('-T, --timeout <seconds>', 'SSH connect timeout', (value) => parsePositive(value, '--timeout'))
    .option('-v, --verbose', 'more output (-vv, -vvv, -vvvv)', (_value: string, previous: number) => previous + 1, 0)
    .option('--list-hosts', 'list the hosts each play would run on, and exit')
    .option('--list-tasks', 'list the tasks each play would run, and exit')
    .option('--syntax-check', 'validate the playbook, its roles and the inventory, and exit')
    .option('--start-at-task <name>', 'start at the task with this name')
    .option('--force-handlers', 'run notified handlers even on hosts that failed')
    .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--log-file <file>', 'write structured events to this file')
    .option('--no-color', 'no colour even on a terminal');
}

function parsePositive(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new CommanderError(EXIT.badOptions, 'tsrun.badOption', `${flag} expects a positive whole number, got '${value}'`);
  return number;
}

export function buildProgram(done: (code: number) => void): Command {
  const program = new Command('tsrun')
    .description('Agentless, Ansible-style runner: inventories, playbooks and roles over SSH.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  addRunFlags(program.command('run').argument('<playbook>', 'playbook file').description('run a playbook')).action(
    async (playbook: string, options: CliOptions) => {
      done(options.listHosts || options.listTasks || options.syntaxCheck ? await listCommand(playbook, options) : await runCommand(playbook, options));
    },
  );
  // The shipped registry-mirror provisioning: playbooks and roles from the installed package.
  for (const [name, description] of [
    ['provision', 'provision the pull-through registry mirror and point every node at it'],
    ['unprovision', 'remove the registry mirror and restore every node'],
  ] as const) {
    addRunFlags(program.command(name).description(description)).action(async (options: CliOptions) => {
      const playbook = packagePath('playbooks', `${name}.yml`);
      const rolesPath = [packagePath('roles')];
      const list = options.listHosts || options.listTasks || options.syntaxCheck;
      done(list ? await listCommand(playbook, options, rolesPath) : await runCommand(playbook, options, rolesPath));
    });
  }
  return program;
}

/** bin/tsrun kept NODE_EXTRA_CA_CERTS from Node's start-up: the commands tsrun runs get it back. */
function restoreEnvironment(): void {
  const extraCaCerts = process.env.TSRUN_NODE_EXTRA_CA_CERTS;
  if (extraCaCerts === undefined) return;
  process.env.NODE_EXTRA_CA_CERTS = extraCaCerts;
  delete process.env.TSRUN_NODE_EXTRA_CA_CERTS;
}

export async function main(argv: string[]): Promise<number> {
  restoreEnvironment();
  let code: number = EXIT.ok;
  const program = buildProgram((result) => {
    code = result;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) return EXIT.ok;
      if (error.code === 'tsrun.badOption') process.stderr.write(`error: ${error.message}\n`);
      return EXIT.badOptions;
    }
    if (error instanceof InputError) {
      process.stderr.write(`ERROR: ${error.describe()}\n`);
      return EXIT.invalidInput;
    }
    process.stderr.write(`ERROR: ${(error as Error).stack ?? String(error)}\n`);
    return 250;
  }
}
