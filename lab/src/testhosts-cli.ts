#!/usr/bin/env node
/**
 * Bring test hosts up and down from the shell (make targets, the benchmark, the demo):
 *   testhosts-cli up --count 4 --state-dir .lab      prints the inventory path
 *   testhosts-cli status --state-dir .lab
 *   testhosts-cli down --state-dir .lab
 */
import { Command, InvalidArgumentError } from 'commander';
import { startTestHosts, stopTestHosts, testHostsStatus } from './testhosts.js';

function wholeNumber(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new InvalidArgumentError('expected a whole number');
  return value;
}

const program = new Command('testhosts').description('real SSH test hosts in network namespaces on this machine').showHelpAfterError();

program
  .command('up')
  .description('start the hosts (or keep the ones already running) and print the inventory path')
  .requiredOption('--count <n>', 'number of hosts', wholeNumber)
  .requiredOption('--state-dir <dir>', 'where keys, configs, private files and the state live')
  .option('--prefix <prefix>', 'names the bridge and the hosts', 'tsh')
  .option('--subnet <cidr>', 'a free /24 (default: the first free of 198.51.100.0/24 and 198.18-19.x.0/24)')
  .action(async (options: { count: number; stateDir: string; prefix: string; subnet?: string }) => {
    const hosts = await startTestHosts(options);
    console.log(hosts.inventoryFile);
  });

program
  .command('down')
  .description('stop the hosts and delete their namespaces, links and files')
  .requiredOption('--state-dir <dir>', 'the state directory given to up')
  .action(async (options: { stateDir: string }) => {
    await stopTestHosts(options.stateDir);
  });

program
  .command('status')
  .description('list the hosts and whether each sshd runs; exit status 1 unless all are up')
  .requiredOption('--state-dir <dir>', 'the state directory given to up')
  .action((options: { stateDir: string }) => {
    const hosts = testHostsStatus(options.stateDir);
    if (!hosts) {
      console.log(`no test hosts in ${options.stateDir}`);
      process.exitCode = 1;
      return;
    }
    for (const host of hosts) {
      console.log(`${host.name}\t${host.address}\t${host.up ? `up (sshd ${host.sshdPid})` : 'down'}`);
    }
    if (!hosts.every((host) => host.up)) process.exitCode = 1;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`testhosts: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
